// Drives `harness mcp` with the official MCP TypeScript SDK, as an agent's client would:
// initialize, list the tools, a tool error, then two clients (each its own `harness mcp`
// process, so its own worker) drain a small plan concurrently; no task may be handed out twice.
// Run from tests/harness/test_mcp.py with HARNESS_BIN set and the cwd in the worktree. Prints
// a JSON summary on success; exits 1 with the reason otherwise.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const TOOLS = ["add", "claim", "complete", "fail", "heartbeat", "release", "show", "status"];

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function connect(name) {
  const client = new Client({ name, version: "1.0.0" });
  const transport = new StdioClientTransport({
    command: process.env.HARNESS_BIN,
    args: ["mcp"],
    env: { ...process.env },
    cwd: process.cwd(),
    stderr: "inherit",
  });
  await client.connect(transport);
  return client;
}

// The tool's structuredContent; a tool error throws unless `expectError`.
async function call(client, name, args = {}, expectError = false) {
  const result = await client.callTool({ name, arguments: args });
  check(Boolean(result.isError) === expectError,
        `${name} ${JSON.stringify(args)}: ${JSON.stringify(result)}`);
  return expectError ? result.content[0].text : result.structuredContent;
}

// Claims and completes until the plan is complete; returns the ids it completed.
async function drain(client, handedOut) {
  const done = [];
  for (;;) {
    const claim = await call(client, "claim", { wait: 20 });
    if (claim.task === null) {
      if (claim.plan_complete) return done;
      continue;
    }
    const id = claim.task.id;
    check(!handedOut.has(id), `task ${id} was handed out twice`);
    handedOut.add(id);
    await call(client, "heartbeat");
    const completed = await call(client, "complete");
    check(completed.task_id === id, `completed ${completed.task_id}, held ${id}`);
    done.push(id);
  }
}

async function main() {
  const a = await connect("agent-a");
  const listed = await a.listTools();
  const names = listed.tools.map((t) => t.name).sort();
  check(JSON.stringify(names) === JSON.stringify(TOOLS), `tools: ${names}`);
  const listSize = Buffer.byteLength(JSON.stringify(listed));
  check(listSize < 4096, `tools/list is ${listSize} bytes`);

  // The plan has t1..t4 (imported by the test); the agent adds the rest.
  const added = [
    { id: "t5", description: "independent task 5" },
    { id: "t6", description: "independent task 6" },
    { id: "t7", description: "joins t1 and t2", dependencies: ["t1", "t2"] },
    { id: "t8", description: "after t7", dependencies: ["t7"] },
  ];
  for (const task of added) await call(a, "add", task);
  const plan = ["t1", "t2", "t3", "t4", ...added.map((t) => t.id)];

  // Tool errors are results with isError, never protocol errors.
  const notHeld = await call(a, "complete", { task_id: "t1" }, true);
  const nothing = await call(a, "release", {}, true);
  const shown = await call(a, "show", { task_id: "t8" });
  check(shown.status === "pending", `t8 is ${shown.status}`);

  const b = await connect("agent-b");
  const [statusA, statusB] = await Promise.all([call(a, "status"), call(b, "status")]);
  check(statusA.worker_id !== statusB.worker_id, "the two sessions share a worker id");

  const handedOut = new Set();
  const [doneA, doneB] = await Promise.all([drain(a, handedOut), drain(b, handedOut)]);
  const all = [...doneA, ...doneB].sort();
  check(JSON.stringify(all) === JSON.stringify(plan.sort()),
        `completed ${all}`);
  const final = await call(b, "status");
  check(final.completed === plan.length, `status says ${JSON.stringify(final)}`);

  await a.close();
  await b.close();
  console.log(JSON.stringify({
    tools: names, list_bytes: listSize, workers: [statusA.worker_id, statusB.worker_id],
    done_a: doneA, done_b: doneB, not_held: notHeld, nothing_held: nothing,
  }));
}

main().then(() => process.exit(0), (error) => {
  console.error(`drain.mjs: ${error.stack || error}`);
  process.exit(1);
});
