// The real `honoroit` binary, run as a process: what a person at a shell sees.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { RoomId, UserId } from "../../src/core/ids.ts";
import { BIN, childEnv, runCli } from "../support/serve-process.ts";
import { probeService, requireService } from "../support/services.ts";

const TRACE = fileURLToPath(new URL("./fixtures/trace-imports.mjs", import.meta.url));
const PG_DSN = process.env["HONOROIT_TEST_PG_DSN"] ?? "postgres://postgres@127.0.0.1:5432/postgres";

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), "honoroit-cli-"));
}

describe("honoroit binary", () => {
  it("lists every subcommand in --help and exits 0", async () => {
    const r = await runCli(["--help"], {});
    assert.equal(r.code, 0, r.stderr);
    for (const c of ["serve", "init", "tickets", "count", "migrate", "redmine", "config"]) assert.match(r.stdout, new RegExp(`^  ${c}\\b`, "m"), c);
    const tickets = await runCli(["tickets", "--help"], {});
    assert.match(tickets.stdout, /^ {2}list\b/m);
    assert.match(tickets.stdout, /^ {2}close\b/m);
    const config = await runCli(["config", "--help"], {});
    assert.match(config.stdout, /^ {2}get\b/m);
    assert.match(config.stdout, /^ {2}set\b/m);
    const redmine = await runCli(["redmine", "--help"], {});
    assert.match(redmine.stdout, /^ {2}resync\b/m);
  });

  it("shows options and examples in each command's help", async () => {
    const r = await runCli(["tickets", "list", "--help"], {});
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--status <status>/);
    assert.match(r.stdout, /--since <duration>/);
    assert.match(r.stdout, /--json/);
    assert.match(r.stdout, /Examples:\n {2}\$ honoroit tickets list/);
  });

  it("loads no Matrix SDK and no database driver for --help", async () => {
    const dir = await tempDir();
    const trace = path.join(dir, "trace.txt");
    await writeFile(trace, "");
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", TRACE, BIN, "--help"], { env: childEnv({ HONOROIT_TEST_TRACE_FILE: trace }), stdio: "ignore" });
      child.once("error", reject);
      child.once("close", resolve);
    });
    assert.equal(code, 0);
    const loaded = await readFile(trace, "utf8");
    assert.match(loaded, /node_modules\/commander\//, "the trace works: commander is loaded");
    for (const heavy of ["matrix-js-sdk", "better-sqlite3", "/pg/", "prom-client", "@inquirer"]) {
      assert.ok(!loaded.includes(heavy), `--help must not load ${heavy}`);
    }
  });

  it("exits 2 on a usage error and on redmine resync without Redmine configured", async () => {
    const unknown = await runCli(["frobnicate"], {});
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    const dir = await tempDir();
    const resync = await runCli(["redmine", "resync"], { HONOROIT_DB_DSN: path.join(dir, "h.db") });
    assert.equal(resync.code, 2);
    assert.match(resync.stderr, /Redmine is not configured: set redmine\.host, redmine\.apiKey and redmine\.project/);
    const badArg = await runCli(["tickets", "list", "--since", "soon"], { HONOROIT_DB_DSN: path.join(dir, "h.db") });
    assert.equal(badArg.code, 2);
    assert.match(badArg.stderr, /not a duration: "soon"/);
  });

  it("reports every configuration problem with its key and source, exit 2", async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, "honoroit.config.json"), JSON.stringify({ db: { dialet: "sqlite" }, port: 70000, homeserver: "matrix.example.com" }));
    const r = await runCli(["tickets", "list"], { HONOROIT_DB_DIALECT: "mysql", HONOROIT_DATA_SECRET: "tooshort" }, dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /configuration has 5 problems/);
    assert.match(r.stderr, /db\.dialet \(file .*honoroit\.config\.json\): unknown key .*did you mean db\.dialect\?/);
    assert.match(r.stderr, /port \(file .*\): 70000 is out of range/);
    assert.match(r.stderr, /homeserver \(file .*\): "matrix\.example\.com" is not a URL/);
    assert.match(r.stderr, /db\.dialect \(env HONOROIT_DB_DIALECT\): "mysql" is not one of/);
    assert.match(r.stderr, /dataSecret \(env HONOROIT_DATA_SECRET\): must be exactly 16, 24 or 32 bytes/);
    assert.ok(!r.stderr.includes("tooshort"), "a secret is never echoed");
  });

  it("warns about misspelt variables, not about the Redmine settings (they work)", async () => {
    const dir = await tempDir();
    const r = await runCli(["migrate"], { HONOROIT_DB_DSN: path.join(dir, "h.db"), HONOROIT_ROOMIDX: "!x:example.com", HONOROIT_REDMINE_HOST: "https://redmine.example.com", HONOROIT_REDMINE_APIKEY: "k", HONOROIT_REDMINE_PROJECT: "support" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^warning: HONOROIT_ROOMIDX \(env HONOROIT_ROOMIDX\): unknown environment variable HONOROIT_ROOMIDX; did you mean HONOROIT_ROOMID\?$/m);
    assert.doesNotMatch(r.stderr, /redmine/i);
  });

  it("runs the commands that do not use Redmine with an unfinished or unreachable Redmine setup; serve refuses it", async () => {
    const dir = await tempDir();
    const db = { HONOROIT_DB_DSN: path.join(dir, "h.db") };
    assert.equal((await runCli(["migrate"], db)).code, 0);
    const unreachable = { ...db, HONOROIT_REDMINE_HOST: "http://127.0.0.1:9", HONOROIT_REDMINE_APIKEY: "k", HONOROIT_REDMINE_PROJECT: "support" };
    const unfinished = { ...db, HONOROIT_REDMINE_HOST: "http://127.0.0.1:9" };
    for (const env of [unreachable, unfinished]) {
      for (const args of [["count", "@alice:example.com"], ["tickets", "list", "--json"], ["config", "get", "silent"], ["config", "set", "silent", "no"], ["migrate"]]) {
        const r = await runCli(args, env);
        assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      }
    }
    const listed = await runCli(["tickets", "list", "--json"], unfinished);
    assert.deepEqual(JSON.parse(listed.stdout), []);
    assert.match(listed.stderr, /^warning: redmine\.apiKey \(default\): required for the Redmine sync, which is on because redmine\.host is set \(HONOROIT_REDMINE_APIKEY\); serve and redmine resync refuse to start until it is set$/m);
    const serve = await runCli(["serve"], { ...unfinished, HONOROIT_HOMESERVER: "http://127.0.0.1:9", HONOROIT_LOGIN: "bot", HONOROIT_PASSWORD: "pw", HONOROIT_ROOMID: "!ops:example.com" });
    assert.equal(serve.code, 2, serve.stderr);
    assert.match(serve.stderr, /^error: configuration has 2 problems$/m);
    assert.match(serve.stderr, /^ {2}- redmine\.project \(default\): required for the Redmine sync/m);
    assert.doesNotMatch(serve.stderr, /^warning: redmine/m, "told once, as the error");
  });

  it("creates the SQLite schema with migrate; a second run changes nothing", async () => {
    const dir = await tempDir();
    const env = { HONOROIT_DB_DSN: path.join(dir, "honoroit.db") };
    const missing = await runCli(["tickets", "list"], env);
    assert.equal(missing.code, 3, "no database yet is 'not found'");
    assert.match(missing.stderr, /no database at .*honoroit\.db/);
    const first = await runCli(["migrate"], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^applied 1 /m);
    const second = await runCli(["migrate"], env);
    assert.equal(second.code, 0);
    assert.match(second.stdout, /schema is up to date/);
    const status = await runCli(["migrate", "--status", "--json"], env);
    const rows = JSON.parse(status.stdout) as { version: number; appliedAt: string | null }[];
    assert.ok(rows.length > 0 && rows.every((m) => m.appliedAt !== null));
    const listed = await runCli(["tickets", "list"], env);
    assert.equal(listed.code, 0);
    assert.equal(listed.stdout.trim(), "no tickets match");
  });

  it("counts a request from the shell, then lists as a table and as JSON", async () => {
    const dir = await tempDir();
    const env = { HONOROIT_DB_DSN: path.join(dir, "honoroit.db") };
    assert.equal((await runCli(["migrate"], env)).code, 0);
    const c1 = await runCli(["count", "@alice:example.com"], env);
    assert.equal(c1.stdout.trim(), "counted: 1st request from example.com (1st by @alice:example.com)");
    const c2 = await runCli(["count", "@bob:example.com", "--json"], env);
    assert.deepEqual(JSON.parse(c2.stdout), { customer: "@bob:example.com", homeserver: "example.com", customerOrdinal: 1, homeserverOrdinal: 2 });
    const bad = await runCli(["count", "bob"], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not a Matrix user id: "bob"/);
  });

  it("writes a long listing whole into a pipe", async () => {
    const dir = await tempDir();
    const dsn = path.join(dir, "honoroit.db");
    const { openStore } = await import("../../src/adapters/storage/open-store.ts");
    const store = await openStore({ dialect: "sqlite", dsn });
    await store.migrate();
    for (let i = 0; i < 3000; i++) {
      await store.tickets.open({ customer: `@user${i}:example.com` as UserId, customerRoom: `!room${i}:example.com` as RoomId, openedAt: new Date() });
    }
    await store.close();
    const r = await runCli(["tickets", "list", "--status", "all", "--limit", "0", "--json"], { HONOROIT_DB_DSN: dsn });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.length > 256 * 1024, "more than a pipe buffer holds");
    assert.equal((JSON.parse(r.stdout) as unknown[]).length, 3000);
  });

  it("migrates PostgreSQL; a second run changes nothing; an unreachable server exits 4", async (t) => {
    const problem = await probeService(async () => {
      const c = new pg.Client({ connectionString: PG_DSN });
      await c.connect();
      await c.end();
    });
    if (!requireService(t, "PostgreSQL", problem)) return;
    const name = `honoroit_cli_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: PG_DSN });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      const url = new URL(PG_DSN);
      url.pathname = `/${name}`;
      const env = { HONOROIT_DB_DIALECT: "postgres", HONOROIT_DB_DSN: url.toString() };
      const first = await runCli(["migrate"], env);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /^applied 1 .*\(PostgreSQL\)$/m);
      const second = await runCli(["migrate"], env);
      assert.match(second.stdout, /schema is up to date/);
      const down = await runCli(["migrate"], { HONOROIT_DB_DIALECT: "postgres", HONOROIT_DB_DSN: "postgres://honoroit:secretpw@127.0.0.1:1/x" });
      assert.equal(down.code, 4);
      assert.match(down.stderr, /cannot reach PostgreSQL at 127\.0\.0\.1:1/);
      assert.ok(!down.stderr.includes("secretpw"));
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });

  it("says clearly when the SQLite file is not a database (exit 4)", async () => {
    const dir = await tempDir();
    const db = path.join(dir, "honoroit.db");
    await writeFile(db, "this is not a database, just some text that is long enough to be read as a header".repeat(20));
    const r = await runCli(["tickets", "list"], { HONOROIT_DB_DSN: db });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /SQLite database at .*honoroit\.db: file is not a database/);
    assert.ok(!/\n\s+at /.test(r.stderr), "no stack trace on the terminal");
  });
});
