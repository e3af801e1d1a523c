import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config/load.ts";
import { load, problemFor, tempDir, writeJson } from "./load-fixture.ts";

describe("loadConfig finds the file", () => {
  const places: [string, (dir: string) => Promise<string>][] = [
    ["honoroit.config.json", (dir) => writeJson(dir, "honoroit.config.json", { prefix: "!a" })],
    [".honoroitrc", (dir) => writeJson(dir, ".honoroitrc", { prefix: "!a" })],
    [".honoroitrc.json", (dir) => writeJson(dir, ".honoroitrc.json", { prefix: "!a" })],
    [".config/honoroitrc.json", (dir) => writeJson(dir, ".config/honoroitrc.json", { prefix: "!a" })],
    ["package.json", (dir) => writeJson(dir, "package.json", { name: "x", honoroit: { prefix: "!a" } })],
  ];
  for (const [name, write] of places) {
    it(`in ${name}`, async () => {
      const dir = await tempDir();
      const file = await write(dir);
      const r = await loadConfig({ cwd: dir, env: {} });
      assert.deepEqual(r.errors, []);
      assert.equal(r.file, file);
      assert.equal(r.config.prefix, "!a");
      assert.equal(r.sources.get("prefix"), `file ${file}`);
    });
  }

  it("prefers honoroit.config.json and ignores a package.json without the key", async () => {
    const dir = await tempDir();
    await writeJson(dir, "package.json", { name: "x" });
    const r1 = await loadConfig({ cwd: dir, env: {} });
    assert.equal(r1.file, undefined);
    await writeJson(dir, ".honoroitrc", { prefix: "!rc" });
    const main = await writeJson(dir, "honoroit.config.json", { prefix: "!main" });
    const r2 = await loadConfig({ cwd: dir, env: {} });
    assert.equal(r2.file, main);
    assert.equal(r2.config.prefix, "!main");
  });

  it("does not search parent folders", async () => {
    const dir = await tempDir();
    await writeJson(dir, "honoroit.config.json", { prefix: "!parent" });
    const child = path.join(dir, "child");
    await mkdir(child);
    const r = await loadConfig({ cwd: child, env: {} });
    assert.equal(r.file, undefined);
  });

  it("loads an explicit file, relative to cwd", async () => {
    const dir = await tempDir();
    const file = await writeJson(dir, "conf/bot.json", { prefix: "!x" });
    await writeJson(dir, "honoroit.config.json", { prefix: "!searched" });
    const r = await loadConfig({ cwd: dir, env: {}, configFile: "conf/bot.json" });
    assert.deepEqual(r.errors, []);
    assert.equal(r.file, file);
    assert.equal(r.config.prefix, "!x");
  });

  it("reports a missing explicit file, and still checks the rest", async () => {
    const dir = await tempDir();
    const r = await loadConfig({ cwd: dir, env: { HONOROIT_PORT: "x" }, configFile: "missing.json" });
    const p = problemFor(r.errors, "config");
    assert.equal(p.source, "flag --config");
    assert.equal(p.message, `config file not found: ${path.join(dir, "missing.json")}`);
    problemFor(r.errors, "port");
  });

  it("never runs a JavaScript config file", async () => {
    const dir = await tempDir();
    const marker = path.join(dir, "ran");
    await writeJson(dir, "honoroit.config.js", `require("fs").writeFileSync(${JSON.stringify(marker)}, "x"); module.exports = {};`);
    const r = await loadConfig({ cwd: dir, env: {}, configFile: "honoroit.config.js" });
    assert.match(problemFor(r.errors, "config").message, /only JSON config files are read/);
    const searched = await loadConfig({ cwd: dir, env: {} });
    assert.equal(searched.file, undefined);
    await assert.rejects(import("node:fs/promises").then((fs) => fs.access(marker)));
  });

  it("takes an empty config file as no settings", async () => {
    const r = await load("");
    assert.deepEqual(r.errors, []);
    assert.equal(r.file, r.configPath);
  });
});
