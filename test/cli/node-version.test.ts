// Which Node.js honoroit accepts: package.json's engines, checked by the launcher before
// anything loads, with a message that names the versions it needs.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { NODE_ENGINES, nodeRefusal, nodeSatisfies } from "../../bin/node-version.js";
import { BIN, childEnv } from "../support/serve-process.ts";

const PRETEND = fileURLToPath(new URL("./fixtures/pretend-node-version.mjs", import.meta.url));

/** Runs `honoroit ARGS` on this Node, which tells the launcher it is `version`. */
function runAs(version: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", PRETEND, BIN, ...args], { env: childEnv({ HONOROIT_TEST_NODE_VERSION: version }), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("Node.js version", () => {
  it("is the range package.json's engines declares", async () => {
    const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { engines: { node: string } };
    assert.equal(NODE_ENGINES, pkg.engines.node);
  });

  const table: [string, boolean][] = [
    ["20.20.2", false],
    ["22.12.0", false],
    ["22.22.1", false],
    ["22.22.2", true],
    ["v22.23.3", true],
    ["23.11.0", false],
    ["24.14.9", false],
    ["24.15.0", true],
    ["25.0.0", false],
    ["26.0.0", true],
    ["27.3.1", true],
  ];
  for (const [version, ok] of table) {
    it(`${version}: ${ok ? "accepted" : "refused"}`, () => {
      assert.equal(nodeSatisfies(version), ok);
    });
  }

  it("refuses a range form it does not know, rather than guessing", () => {
    assert.throws(() => nodeSatisfies("22.0.0", "~22.1.0"), /unsupported version range: ~22\.1\.0/);
  });

  it("names the versions it needs and the one it found", () => {
    assert.equal(
      nodeRefusal("v22.12.0"),
      "honoroit needs Node.js 22.22.2 or newer in the 22 line, 24.15.0 or newer in the 24 line, or 26.0.0 or newer (^22.22.2 || ^24.15.0 || >=26.0.0); this is Node.js 22.12.0",
    );
  });

  it("the binary on an older Node says so and exits 2 before loading anything", async () => {
    const r = await runAs("22.12.0", ["--help"]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, `${nodeRefusal("22.12.0")}\n`);
  });

  it("the binary on a Node the range accepts runs", async () => {
    const r = await runAs("22.22.2", ["--version"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});
