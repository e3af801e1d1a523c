import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config/load.ts";
import { load, problemFor, tempDir, writeJson } from "./load-fixture.ts";

describe("loadConfig database", () => {
  const dialects: [string, "sqlite" | "postgres"][] = [
    ["sqlite3", "sqlite"],
    ["sqlite", "sqlite"],
    ["SQLite3", "sqlite"],
    ["postgres", "postgres"],
    ["postgresql", "postgres"],
  ];
  for (const [given, dialect] of dialects) {
    it(`accepts dialect ${given}`, async () => {
      const dsn = dialect === "postgres" ? "postgresql://bot@localhost/honoroit" : "bot.db";
      const r = await load(undefined, { HONOROIT_DB_DIALECT: given, HONOROIT_DB_DSN: dsn });
      assert.deepEqual(r.errors, []);
      assert.equal(r.config.db.dialect, dialect);
    });
  }

  it("puts the default SQLite file in the working folder when there is no config file", async () => {
    const r = await load(undefined);
    assert.equal(r.config.db.dsn, path.join(r.dir, "honoroit.db"));
    assert.equal(r.sources.get("db.dsn"), "default");
  });

  it("puts the default SQLite file next to the config file", async () => {
    const dir = await tempDir();
    const file = await writeJson(dir, "etc/honoroit.config.json", { prefix: "!x" });
    const r = await loadConfig({ cwd: dir, env: {}, configFile: file });
    assert.equal(r.config.db.dsn, path.join(dir, "etc", "honoroit.db"));
  });

  it("resolves a relative path from the file against the file's folder, from env against cwd", async () => {
    const dir = await tempDir();
    const file = await writeJson(dir, "etc/honoroit.config.json", { db: { dsn: "data/bot.db" } });
    const fromFile = await loadConfig({ cwd: dir, env: {}, configFile: file });
    assert.equal(fromFile.config.db.dsn, path.join(dir, "etc", "data", "bot.db"));
    const fromEnv = await loadConfig({ cwd: dir, env: { HONOROIT_DB_DSN: "data/bot.db" }, configFile: file });
    assert.equal(fromEnv.config.db.dsn, path.join(dir, "data", "bot.db"));
    const absolute = await loadConfig({ cwd: dir, env: { HONOROIT_DB_DSN: "/var/lib/honoroit/bot.db" } });
    assert.equal(absolute.config.db.dsn, "/var/lib/honoroit/bot.db");
  });

  it("keeps :memory: and drops the Go driver's file: prefix and options with a warning", async () => {
    const memory = await load(undefined, { HONOROIT_DB_DSN: ":memory:" });
    assert.equal(memory.config.db.dsn, ":memory:");
    const go = await load(undefined, { HONOROIT_DB_DSN: "file:/data/honoroit.db?_txlock=immediate" });
    assert.deepEqual(go.errors, []);
    assert.equal(go.config.db.dsn, "/data/honoroit.db");
    assert.match(problemFor(go.warnings, "db.dsn").message, /options after "\?" are ignored/);
  });

  const postgresCases: [string, NodeJS.ProcessEnv, RegExp][] = [
    ["postgres without a dsn", { HONOROIT_DB_DIALECT: "postgres" }, /required when db\.dialect is postgres \(env HONOROIT_DB_DIALECT\)/],
    ["postgres with a key=value dsn", { HONOROIT_DB_DIALECT: "postgres", HONOROIT_DB_DSN: "host=db user=bot" }, /expected a postgres:\/\/ or postgresql:\/\/ URL/],
    ["postgres with a mysql URL", { HONOROIT_DB_DIALECT: "postgres", HONOROIT_DB_DSN: "mysql://db/x" }, /expected a postgres:\/\/ or postgresql:\/\/ URL/],
    ["sqlite with a postgres URL", { HONOROIT_DB_DSN: "postgres://bot:pw@db/x" }, /is a PostgreSQL URL but db\.dialect is sqlite \(default\)/],
  ];
  for (const [name, env, message] of postgresCases) {
    it(`rejects ${name}`, async () => {
      const r = await load(undefined, env);
      assert.equal(r.errors.length, 1, JSON.stringify(r.errors));
      assert.match(problemFor(r.errors, "db.dsn").message, message);
      assert.ok(!JSON.stringify(r.errors).includes("pw@"), "the dsn's password leaked");
    });
  }
});
