// One serve per database: the lock on real SQLite files (across processes) and a real PostgreSQL.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { Client } from "pg";
import { openServeLock } from "../../src/adapters/storage/serve-lock.ts";
import { MemoryLogger } from "../support/helpdesk-fixture.ts";
import { freshDatabase } from "../support/postgres.ts";

const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe("serve lock: SQLite", () => {
  it("one holder at a time; released on release, and when the holding process is killed", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "honoroit-lock-"));
    const db = path.join(dir, "honoroit.db");
    const logger = new MemoryLogger();
    const first = await openServeLock("sqlite", db, logger);
    const second = await openServeLock("sqlite", db, logger);
    assert.equal(await first.tryAcquire(), true);
    assert.equal(await first.tryAcquire(), true, "holding it again is a no-op");
    assert.equal(await second.tryAcquire(), false);
    await first.release();
    assert.equal(await second.tryAcquire(), true);
    await second.release();

    // Another process takes it and is killed: the operating system lets go of its lock.
    const script = `
      const Database = require("better-sqlite3");
      const db = new Database(${JSON.stringify(`${db}.lock`)});
      db.exec("BEGIN EXCLUSIVE");
      console.log("held");
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    const third = await openServeLock("sqlite", db, logger);
    assert.equal(await third.tryAcquire(), false, "the other process holds it");
    child.kill("SIGKILL");
    await until("the killed process's lock to go", () => third.tryAcquire());
    await third.release();
  });

  it(":memory: is private to its process: always held", async () => {
    const lock = await openServeLock("sqlite", ":memory:", new MemoryLogger());
    assert.equal(await lock.tryAcquire(), true);
    await lock.release();
  });
});

describe("serve lock: PostgreSQL", () => {
  it("one holder at a time; a holder whose connection dies takes it back, or stops if another took it", async (t) => {
    const dsn = await freshDatabase(t, "honoroit_lock");
    if (dsn === undefined) return;
    const logger = new MemoryLogger();
    const first = await openServeLock("postgres", dsn, logger);
    const second = await openServeLock("postgres", dsn, logger);
    assert.equal(await first.tryAcquire(), true);
    assert.equal(await second.tryAcquire(), false);

    const admin = new Client({ connectionString: dsn });
    await admin.connect();
    const kill = async (): Promise<void> => {
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'honoroit serve lock' AND datname = current_database()");
    };

    // The connection drops and nobody else asks: the holder takes it back.
    await kill();
    await until("the first holder to take the lock back", () => Promise.resolve(logger.lines.some((l) => l.message === "the serve lock is held again")));
    assert.equal(await second.tryAcquire(), false);
    assert.equal(first.lost.aborted, false);

    // The connection drops and another is quicker (already queued for the lock): the first
    // learns that it lost the lock.
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'honoroit serve lock' AND datname = current_database()");
    await admin.query("SELECT pg_advisory_lock(1215262319)");
    await until("the first to learn it lost the lock", () => Promise.resolve(first.lost.aborted));
    assert.ok(logger.lines.some((l) => l.level === "error" && /another honoroit serve took the database/.test(l.message)));
    await first.release();
    await second.release();
    await admin.query("SELECT pg_advisory_unlock(1215262319)");
    // Before the database is dropped (which ends every connection to it).
    await admin.end();
  });
});
