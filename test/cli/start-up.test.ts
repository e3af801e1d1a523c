// What `honoroit --help` loads: each module costs start-up time, so help loads the command
// table and the output module, and no command's own file.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { BIN, childEnv } from "../support/serve-process.ts";

const TRACE = fileURLToPath(new URL("./fixtures/trace-modules.mjs", import.meta.url));
const DIST = fileURLToPath(new URL("../../dist/", import.meta.url));

async function modulesLoadedBy(args: readonly string[]): Promise<string[]> {
  const dir = await mkdtemp(path.join(tmpdir(), "honoroit-start-"));
  const trace = path.join(dir, "trace.txt");
  await writeFile(trace, "");
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", TRACE, BIN, ...args], { env: childEnv({ HONOROIT_TEST_TRACE_FILE: trace }), stdio: "ignore" });
    child.once("error", reject);
    child.once("close", resolve);
  });
  assert.equal(code, 0);
  const urls = (await readFile(trace, "utf8")).split("\n").filter((u) => u.startsWith("file:"));
  return [...new Set(urls.map((u) => fileURLToPath(u)).filter((f) => f.startsWith(DIST)).map((f) => path.relative(DIST, f)))].sort();
}

describe("start-up", () => {
  for (const args of [["--help"], ["tickets", "--help"], ["tickets", "list", "--help"], ["--version"]]) {
    it(`honoroit ${args.join(" ")} loads the command table, not the commands`, async () => {
      assert.deepEqual(await modulesLoadedBy(args), ["cli/commands/index.js", "cli/main.js", "cli/output.js", "cli/program.js", "cli/version.js"]);
    });
  }
});
