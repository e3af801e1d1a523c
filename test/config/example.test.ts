import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import {
  configReferenceProblem,
  REFERENCE_END,
  REFERENCE_START,
  REGENERATE_COMMAND,
  renderConfigReference,
  renderExampleConfig,
  spliceConfigReference,
} from "../../src/config/example.ts";
import { CONFIG_KEYS, specOf } from "../../src/config/schema.ts";
import { loadConfig } from "../../src/config/load.ts";

const root = path.resolve(import.meta.dirname, "../..");
const examplePath = path.join(root, "honoroit.config.example.json");

describe("honoroit.config.example.json", () => {
  it("is what the schema generates", async () => {
    const committed = await readFile(examplePath, "utf8");
    assert.equal(committed, renderExampleConfig(), `honoroit.config.example.json is stale; run ${REGENERATE_COMMAND}`);
  });

  it("loads back with no problem and yields the defaults", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "honoroit-example-"));
    try {
      const file = path.join(dir, "honoroit.config.json");
      await copyFile(examplePath, file);
      const r = await loadConfig({ cwd: dir, env: {} });
      assert.equal(r.file, file);
      assert.deepEqual(r.errors, []);
      assert.deepEqual(r.warnings, []);
      assert.equal(r.config.port, 8080);
      assert.equal(r.config.db.dsn, path.join(dir, "honoroit.db"));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("holds every key but no …File key", () => {
    const rendered = renderExampleConfig();
    assert.ok(!rendered.includes("File\""));
    for (const key of CONFIG_KEYS) assert.ok(rendered.includes(`"${key.split(".").at(-1)!}"`), key);
  });
});

describe("the config reference", () => {
  it("has one row per key, naming its variable", () => {
    const reference = renderConfigReference();
    for (const key of CONFIG_KEYS) {
      const row = reference.split("\n").find((line) => line.startsWith(`| \`${key}\``));
      assert.ok(row !== undefined, key);
      assert.ok(row.includes(`\`${specOf(key).env}\``), key);
    }
  });

  it("is spliced between the markers only", () => {
    const readme = `# Title\n\n${REFERENCE_START}\nold\n${REFERENCE_END}\n\nrest\n`;
    const spliced = spliceConfigReference(readme);
    assert.equal(spliced, `# Title\n\n${REFERENCE_START}\n${renderConfigReference()}${REFERENCE_END}\n\nrest\n`);
    assert.equal(spliceConfigReference(spliced), spliced);
    assert.equal(spliceConfigReference("# no markers\n"), undefined);
    assert.equal(configReferenceProblem(spliced), undefined);
    assert.match(configReferenceProblem(readme) ?? "", /stale/);
    assert.match(configReferenceProblem("# no markers\n") ?? "", /add a "<!-- config-reference:start -->" line/);
    assert.match(configReferenceProblem(undefined) ?? "", /README\.md is missing/);
  });

  // Fails until README.md has the markers (see configReferenceProblem for what to do).
  it("matches the section in README.md", async () => {
    const readmePath = path.join(root, "README.md");
    const readme = existsSync(readmePath) ? await readFile(readmePath, "utf8") : undefined;
    const problem = configReferenceProblem(readme);
    assert.equal(problem, undefined, problem);
  });
});
