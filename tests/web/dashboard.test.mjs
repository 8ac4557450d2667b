// The dashboard of `harness web` in a real browser: headless Chromium (Debian's) driven by
// playwright-core. Run by tests/harness/test_web.py:
//   node dashboard.test.mjs URL
// with HARNESS_BIN and the environment of a harness CLI for the dashboard's worktree (its
// socket, and HARNESS_WORKER_ID for the claims below). The plan holds a ready task t1.
// Prints one line per check passed; exits 1 with the reason on the first that fails.
import { execFileSync } from "node:child_process";
import { chromium } from "playwright-core";

const url = new URL(process.argv[2]);
const harness = process.env.HARNESS_BIN;
const worker = process.env.HARNESS_WORKER_ID;
const timeout = 30_000;

function cli(...args) {
  return JSON.parse(execFileSync(harness, args, { encoding: "utf8" }));
}

async function checkTokens() {
  const bare = new URL(url);
  bare.search = "";
  const none = await fetch(bare);
  if (none.status !== 401 && none.status !== 403) throw new Error(`no token: ${none.status}`);
  bare.searchParams.set("token", "0".repeat(32));
  const wrong = await fetch(new URL("/api/state", bare));
  if (wrong.status !== 401 && wrong.status !== 403) throw new Error(`wrong token: ${wrong.status}`);
  console.log(`no token: ${none.status}, wrong token: ${wrong.status}`);
}

async function main() {
  await checkTokens();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: process.getuid && process.getuid() === 0 ? ["--no-sandbox"] : [],
  });
  try {
    const page = await browser.newPage();
    const problems = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    await page.goto(url.href);
    await page.evaluate(() => { window.notReloaded = true; });
    const node = (state) => `[data-task-id="t1"][data-state="${state}"]`;
    await page.waitForSelector(node("ready"), { timeout });
    console.log("t1 is drawn ready");

    const claimed = cli("task", "claim");
    if (claimed.data.task.id !== "t1") throw new Error(`claimed ${JSON.stringify(claimed)}`);
    await page.waitForSelector(node("running"), { timeout });
    await page.waitForSelector(`[data-worker="${worker}"]`, { timeout });
    const holder = await page.textContent(node("running"));
    if (!holder.includes(worker)) throw new Error(`the running node says ${holder}`);
    console.log("t1 turned running with its holder, and the worker has a lane");

    cli("task", "complete", "--id", "t1");
    await page.waitForSelector(node("completed"), { timeout });
    await page.waitForFunction(() => document.querySelector("#feed").textContent.includes("complete"),
                               null, { timeout });
    if (!(await page.evaluate(() => window.notReloaded))) throw new Error("the page was reloaded");
    if (problems.length) throw new Error(`page errors: ${problems.join("; ")}`);
    console.log("t1 turned completed without a reload; the feed shows it");
  } finally {
    await browser.close();
  }
}

main().then(() => console.log("dashboard ok"), (e) => {
  console.error(`dashboard test failed: ${e.stack || e}`);
  process.exit(1);
});
