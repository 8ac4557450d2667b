// Saves a screenshot of the dashboard at URL to FILE (scripts/screenshot-dashboard):
//   node screenshot.mjs URL FILE
import { chromium } from "playwright-core";

const [url, file] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: process.getuid && process.getuid() === 0 ? ["--no-sandbox"] : [],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(url);
  await page.waitForSelector("[data-task-id]", { timeout: 30_000 });
  await page.waitForFunction(() => document.querySelector("#conn").className === "live", null,
                             { timeout: 30_000 });
  await page.screenshot({ path: file, fullPage: true });
} finally {
  await browser.close();
}
