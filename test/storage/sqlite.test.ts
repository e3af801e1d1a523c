import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { HonoroitError } from "../../src/core/errors.ts";
import { parseRoomId, parseUserId } from "../../src/core/ids.ts";
import type { TicketFilter } from "../../src/core/ticket.ts";
import { openStore } from "../../src/adapters/storage/open-store.ts";
import { SqliteDatabase, sqliteFailure } from "../../src/adapters/storage/sqlite-database.ts";
import type { SqliteOptions } from "../../src/adapters/storage/sqlite-database.ts";
import { SqlStore } from "../../src/adapters/storage/sql-store.ts";
import { countTicketsQuery, listTicketsQuery } from "../../src/adapters/storage/sql-tickets.ts";
import { signal } from "./contract/support.ts";
import { storeContract } from "./store-contract.ts";

const dir = mkdtempSync(join(tmpdir(), "honoroit-sqlite-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

let files = 0;
const newFile = (): string => join(dir, `store-${++files}.db`);

storeContract("sqlite", { dialect: "sqlite", database: () => Promise.resolve(SqliteDatabase.open(newFile())) });

/** Stores opened by a test, closed after it whatever happens. */
function storesFor(t: { after(fn: () => Promise<void>): void }): (file: string, options?: SqliteOptions) => Promise<SqlStore> {
  return async (file, options) => {
    const store = new SqlStore(SqliteDatabase.open(file, options));
    t.after(() => store.close());
    await store.migrate();
    return store;
  };
}

const isBusy = (e: unknown): boolean => e instanceof HonoroitError && e.code === "BUSY" && /is busy: another process holds its lock/.test(e.message);

const PEER = fileURLToPath(new URL("./fixtures/sqlite-peer.ts", import.meta.url));

/** The peer fixture as a process of its own; `ready` once its store is open. */
function startPeer(args: readonly string[]): { ready: Promise<void>; done: Promise<{ code: number | null; result: unknown; stderr: string }> } {
  const child = spawn(process.execPath, ["--import", "tsx", PEER, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const ready = signal();
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
    if (stdout.startsWith("ready\n")) ready.fire();
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; result: unknown; stderr: string }>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      ready.fire();
      const last = stdout.trim().split("\n").at(-1) ?? "";
      resolve({ code, result: last.startsWith("[") || last.startsWith("{") ? JSON.parse(last) : undefined, stderr });
    });
  });
  return { ready: ready.promise, done };
}

describe("SQLite store", () => {
  test("the file is in WAL mode, and its folder is created", async (t) => {
    const file = join(dir, "nested", "deeper", "honoroit.db");
    await storesFor(t)(file);
    assert.ok(existsSync(file));
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
    } finally {
      db.close();
    }
  });

  test("the database and its -wal and -shm files are readable by their owner only", async (t) => {
    const file = join(dir, "private.db");
    writeFileSync(file, "");
    chmodSync(file, 0o644);
    const store = await storesFor(t)(file);
    await store.kv.set("session", "token", "syt_secret");
    for (const f of [file, `${file}-wal`, `${file}-shm`]) {
      assert.ok(existsSync(f), `${f} exists`);
      assert.equal((statSync(f).mode & 0o777).toString(8), "600", f);
    }
  });

  test("openStore opens a path or :memory:, and does not migrate", async () => {
    const store = await openStore({ dialect: "sqlite", dsn: ":memory:" });
    try {
      assert.equal(store.dialect, "sqlite");
      assert.ok((await store.migrationStatus()).every((m) => m.appliedAt === null));
      await store.migrate();
      const opened = await store.tickets.open({ customer: parseUserId("@a:b.example"), customerRoom: parseRoomId("!r:b.example"), openedAt: new Date() });
      assert.equal(opened.created, true);
    } finally {
      await store.close();
    }
  });

  test("a file that cannot be created, or is no database, is UNREACHABLE, naming the path", () => {
    const blocker = join(dir, "not-a-folder");
    writeFileSync(blocker, "");
    const bad = join(blocker, "honoroit.db");
    assert.throws(
      () => SqliteDatabase.open(bad),
      (e: unknown) => e instanceof HonoroitError && e.code === "UNREACHABLE" && e.message.includes(bad),
    );
    const text = join(dir, "text.db");
    writeFileSync(text, "this is not a database, just some text that is long enough to be read as a header".repeat(20));
    assert.throws(
      () => SqliteDatabase.open(text),
      (e: unknown) => e instanceof HonoroitError && e.code === "UNREACHABLE" && e.message === `cannot use the SQLite database at ${text}: file is not a database`,
    );
  });

  test("a second store migrating the same file finds nothing to do", async (t) => {
    const file = newFile();
    const first = new SqlStore(SqliteDatabase.open(file));
    const second = new SqlStore(SqliteDatabase.open(file));
    t.after(async () => {
      await first.close();
      await second.close();
    });
    const [a, b] = await Promise.all([first.migrate(), second.migrate()]);
    assert.equal(a.length + b.length, (await first.migrationStatus()).length, "each migration applied once");
    assert.deepEqual(await second.migrate(), []);
  });

  test("a lock held elsewhere past the busy timeout is BUSY, for transactions and single writes", async (t) => {
    const file = newFile();
    const store = await storesFor(t)(file, { busyTimeoutMs: 150 });
    const holder = new Database(file);
    holder.exec("BEGIN IMMEDIATE");
    try {
      const started = performance.now();
      await assert.rejects(store.transaction((tx) => tx.kv.set("ns", "k", "tx")), isBusy);
      const waited = performance.now() - started;
      assert.ok(waited >= 140 && waited < 3000, `waited the busy timeout (${Math.round(waited)} ms)`);
      await assert.rejects(store.kv.set("ns", "k", "single"), isBusy);
      assert.equal(await store.kv.get("ns", "k"), undefined, "reads go on meanwhile");
    } finally {
      holder.exec("COMMIT");
      holder.close();
    }
    await store.transaction((tx) => tx.kv.set("ns", "k", "tx"));
    assert.equal(await store.kv.get("ns", "k"), "tx", "once the lock is free, writes go through");
  });

  test("a statement issued while a transaction is open waits for it to end", async (t) => {
    const store = await storesFor(t)(newFile());
    const order: string[] = [];
    const entered = signal();
    const release = signal();
    const transaction = store.transaction(async (tx) => {
      await tx.kv.set("ns", "inside", "1");
      entered.fire();
      await release.promise;
      order.push("transaction ends");
    });
    await entered.promise;
    const outside = store.kv.get("ns", "inside").then((value) => order.push(`outside read ${value ?? "nothing"}`));
    await delay(30);
    release.fire();
    await Promise.all([transaction, outside]);
    assert.deepEqual(order, ["transaction ends", "outside read 1"]);
  });

  test("two stores on one file in one process: the second transaction waits for the first", async (t) => {
    const file = newFile();
    const open = storesFor(t);
    const a = await open(file);
    const b = await open(file);
    const entered = signal();
    const release = signal();
    const first = a.transaction(async (tx) => {
      await tx.kv.set("ns", "a", "committed");
      entered.fire();
      await release.promise;
    });
    await entered.promise;
    let secondDone = false;
    const second = b.transaction(async (tx) => {
      const seen = await tx.kv.get("ns", "a");
      await tx.kv.set("ns", "b", "written");
      return seen;
    });
    void second.then(() => (secondDone = true));
    await delay(200);
    assert.equal(secondDone, false, "the second waits while the first holds the lock");
    release.fire();
    await first;
    assert.equal(await second, "committed", "and then sees what the first committed");
    assert.equal(await a.kv.get("ns", "b"), "written");
  });

  test("a transaction in another process (the CLI beside serve) waits for ours, then commits", { timeout: 30_000 }, async (t) => {
    const file = newFile();
    const store = await storesFor(t)(file);
    const entered = signal();
    const release = signal();
    const ours = store.transaction(async (tx) => {
      await tx.kv.set("peer", "parent", "committed");
      entered.fire();
      await release.promise;
    });
    await entered.promise;
    const peer = startPeer([file, "transaction"]);
    await peer.ready;
    await delay(300);
    release.fire();
    await ours;
    const { code, result, stderr } = await peer.done;
    assert.equal(code, 0, stderr);
    const { seen, waitedMs } = result as { seen: string | null; waitedMs: number };
    assert.equal(seen, "committed", "it ran after our commit");
    assert.ok(waitedMs >= 150, `it waited for the lock (${waitedMs} ms)`);
    assert.equal(await store.kv.get("peer", "child"), "written");
  });

  test("two processes opening tickets for the same rooms at once make one ticket per room, counted once", { timeout: 60_000 }, async (t) => {
    const file = newFile();
    const store = await storesFor(t)(file);
    const ROOMS = 150;
    const customer = parseUserId("@racer:race.example");
    const peer = startPeer([file, "open", String(ROOMS)]);
    await peer.ready;
    const ours = [];
    for (let i = 0; i < ROOMS; i++) {
      const r = await store.tickets.open({ customer, customerRoom: parseRoomId(`!race${i}:race.example`), openedAt: new Date() });
      ours.push({ id: r.ticket.id, created: r.created, ordinal: r.customerOrdinal });
    }
    const { code, result, stderr } = await peer.done;
    assert.equal(code, 0, stderr);
    const theirs = result as { id: number; created: boolean; ordinal: number }[];
    assert.equal(theirs.length, ROOMS);
    for (let i = 0; i < ROOMS; i++) {
      assert.equal(ours[i]?.id, theirs[i]?.id, `room ${i}: one ticket`);
      assert.equal([ours[i]?.created, theirs[i]?.created].filter(Boolean).length, 1, `room ${i}: created once`);
      assert.equal(ours[i]?.ordinal, theirs[i]?.ordinal, `room ${i}: the same ordinal both ways`);
    }
    assert.deepEqual(
      ours.map((o) => o.ordinal).sort((x, y) => x - y),
      Array.from({ length: ROOMS }, (_, i) => i + 1),
      "every request counted once",
    );
    assert.equal(await store.tickets.count({ status: "open" }), ROOMS);
    assert.deepEqual(await store.tickets.countRequest(customer), { customerOrdinal: ROOMS + 1, homeserverOrdinal: ROOMS + 1 });
  });
});

describe("SQLite store at 100,000 tickets", () => {
  const TICKETS = 100_000;
  const OPEN_EVERY = 97; // about 1% still open
  const file = join(dir, "scale.db");

  /** Seeds through a second connection, as fast as SQLite allows: one transaction. */
  function seed(): void {
    const db = new Database(file);
    try {
      const insert = db.prepare(
        `INSERT INTO tickets (customer, homeserver, customer_room, thread_root, status, title, opened_at, closed_at,
           last_activity_at, close_reason, customer_ordinal, homeserver_ordinal)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const start = Date.UTC(2021, 0, 1);
      db.transaction(() => {
        for (let i = 0; i < TICKETS; i++) {
          const server = `s${i % 50}.example`;
          const open = i % OPEN_EVERY === 0;
          // Not in id order, as after an import: the order must come from opened_at.
          const openedAt = start + ((i * 7919) % TICKETS) * 60_000;
          insert.run(
            `@u${i % 5000}:${server}`,
            server,
            `!room${i}:${server}`,
            `$root${i}`,
            open ? "open" : "closed",
            `[DONE] request ${i}`,
            openedAt,
            open ? null : openedAt + 3_600_000,
            openedAt + 60_000,
            open ? null : "operator",
            1 + Math.floor(i / 5000),
            1 + Math.floor(i / 50),
          );
        }
      })();
    } finally {
      db.close();
    }
  }

  function plan(db: Database.Database, sql: string, params: readonly (string | number | null)[]): string[] {
    const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
    return rows.map((r) => r.detail);
  }

  function assertIndexedInOrder(details: string[], what: string): void {
    const text = details.join(" | ");
    assert.ok(!details.some((d) => /^SCAN tickets$/.test(d)), `${what}: no full table scan (${text})`);
    assert.ok(!details.some((d) => d.includes("TEMP B-TREE")), `${what}: no sort step (${text})`);
    assert.ok(details.some((d) => /USING (COVERING )?INDEX/.test(d)), `${what}: uses an index (${text})`);
  }

  const LISTINGS: readonly [string, TicketFilter][] = [
    ["open tickets", { status: "open", limit: 50 }],
    ["closed tickets", { status: "closed", limit: 50 }],
    ["all tickets", { status: "all", limit: 50 }],
    ["one customer's tickets", { customer: parseUserId("@u42:s42.example"), limit: 50 }],
    ["one customer's open tickets", { customer: parseUserId("@u42:s42.example"), status: "open", limit: 50 }],
    ["tickets since a date", { status: "closed", since: new Date(Date.UTC(2021, 1, 1)), limit: 50 }],
  ];

  test("listing, counting and idle lookup use indexes, before and after ANALYZE", async (t) => {
    const store = await storesFor(t)(file);
    const seedStart = performance.now();
    seed();
    t.diagnostic(`seeded ${TICKETS} tickets in ${Math.round(performance.now() - seedStart)} ms`);

    const db = new Database(file);
    try {
      for (const phase of ["without statistics", "after ANALYZE"]) {
        if (phase === "after ANALYZE") db.exec("ANALYZE");
        for (const [what, filter] of LISTINGS) {
          const q = listTicketsQuery(filter);
          assertIndexedInOrder(plan(db, q.text, q.params), `${what} ${phase}`);
          const c = countTicketsQuery(filter);
          const countPlan = plan(db, c.text, c.params);
          if (filter.status !== "all") {
            assert.ok(countPlan.some((d) => d.includes("INDEX")), `count of ${what} ${phase}: ${countPlan.join(" | ")}`);
          }
        }
        const idle = plan(db, "SELECT * FROM tickets WHERE status = 'open' AND last_activity_at < ? ORDER BY last_activity_at, id LIMIT ?", [Date.now(), 100]);
        assertIndexedInOrder(idle, `idle lookup ${phase}`);
        const thread = plan(db, "SELECT * FROM tickets WHERE thread_root = ? ORDER BY opened_at DESC, id DESC LIMIT 1", ["$x"]);
        assert.ok(thread.some((d) => d.includes("tickets_thread_root")), `thread lookup ${phase}: ${thread.join(" | ")}`);
      }
    } finally {
      db.close();
    }

    // And the store itself answers quickly and correctly at this size (timings are for the log only).
    const listStart = performance.now();
    const page = await store.tickets.list({ status: "closed", limit: 50 });
    const listMs = performance.now() - listStart;
    assert.equal(page.length, 50);
    for (let i = 1; i < page.length; i++) {
      const prev = page[i - 1];
      const cur = page[i];
      assert.ok(prev !== undefined && cur !== undefined);
      assert.ok(prev.openedAt.getTime() >= cur.openedAt.getTime(), "newest first");
      assert.equal(cur.status, "closed");
    }
    const countStart = performance.now();
    const open = await store.tickets.count({ status: "open" });
    const countMs = performance.now() - countStart;
    assert.equal(open, Math.ceil(TICKETS / OPEN_EVERY));
    assert.equal(await store.tickets.count({}), TICKETS);
    t.diagnostic(`tickets.list(closed, 50): ${listMs.toFixed(2)} ms; tickets.count(open): ${countMs.toFixed(2)} ms`);
  });
});

describe("SQLite failures sorted by cause", () => {
  type Expected = "BUSY" | "UNREACHABLE" | "raw";
  const FILE = "/srv/honoroit/honoroit.db";

  /** Asserts what sqliteFailure made of `e`: the HonoroitError expected, naming the file, or `e` itself. */
  function assertSorted(e: unknown, expected: Expected, reason?: RegExp): void {
    const sorted = sqliteFailure(e, FILE);
    if (expected === "raw") {
      assert.equal(sorted, e, "the statement's own error, thrown as it is");
      return;
    }
    assert.ok(sorted instanceof HonoroitError, String(sorted));
    assert.equal(sorted.code, expected);
    assert.equal(sorted.cause, e, "the driver's error is kept as the cause");
    assert.ok(sorted.message.includes(FILE), sorted.message);
    if (reason !== undefined) assert.match(sorted.message, reason);
  }

  // Extended codes count as their primary code.
  const CODES: readonly (readonly [code: string, expected: Expected, reason?: RegExp])[] = [
    ["SQLITE_BUSY", "BUSY", /is busy: another process holds its lock \(SQLITE_BUSY\); try again$/],
    ["SQLITE_BUSY_SNAPSHOT", "BUSY"],
    ["SQLITE_LOCKED", "BUSY"],
    ["SQLITE_LOCKED_SHAREDCACHE", "BUSY"],
    ["SQLITE_FULL", "UNREACHABLE", /^cannot use the SQLite database at \/srv\/honoroit\/honoroit\.db: the disk is full \(SQLITE_FULL: made up\)$/],
    ["SQLITE_IOERR", "UNREACHABLE", /I\/O error/],
    ["SQLITE_IOERR_WRITE", "UNREACHABLE", /I\/O error \(SQLITE_IOERR_WRITE/],
    ["SQLITE_IOERR_SHORT_READ", "UNREACHABLE", /I\/O error/],
    ["SQLITE_IOERR_FSYNC", "UNREACHABLE", /I\/O error/],
    ["SQLITE_READONLY", "UNREACHABLE", /cannot be written/],
    ["SQLITE_READONLY_DBMOVED", "UNREACHABLE", /cannot be written/],
    ["SQLITE_READONLY_DIRECTORY", "UNREACHABLE", /cannot be written/],
    ["SQLITE_CANTOPEN", "UNREACHABLE", /cannot be opened/],
    ["SQLITE_CANTOPEN_ISDIR", "UNREACHABLE", /cannot be opened/],
    ["SQLITE_PROTOCOL", "UNREACHABLE", /locking failed/],
    ["SQLITE_NOMEM", "UNREACHABLE", /out of memory/],
    ["SQLITE_CONSTRAINT_UNIQUE", "raw"],
    ["SQLITE_CONSTRAINT_FOREIGNKEY", "raw"],
    ["SQLITE_ERROR", "raw"],
    ["SQLITE_MISMATCH", "raw"],
    ["SQLITE_TOOBIG", "raw"],
    ["SQLITE_RANGE", "raw"],
    ["SQLITE_CORRUPT", "UNREACHABLE", /damaged \(restore it from a backup\)/],
    ["SQLITE_CORRUPT_INDEX", "UNREACHABLE", /damaged/],
    ["SQLITE_NOTADB", "UNREACHABLE", /not an SQLite database/],
  ];
  for (const [code, expected, reason] of CODES) {
    test(`${code} is ${expected === "raw" ? "the statement's own" : expected}`, () => {
      assertSorted(new Database.SqliteError("made up", code), expected, reason);
    });
  }

  test("errors that are not SQLite's are left alone, whatever their code", () => {
    assertSorted(Object.assign(new Error("disk full"), { code: "SQLITE_FULL" }), "raw");
    assertSorted(new TypeError("Too few parameter values were provided"), "raw");
    assertSorted("a string", "raw");
  });

  // The driver's own errors, provoked on a real file.
  const PROVOKED: readonly { what: string; code: string; expected: Expected; provoke: (file: string) => void }[] = [
    {
      what: "a write through a connection opened read-only",
      code: "SQLITE_READONLY",
      expected: "UNREACHABLE",
      provoke: (file) => {
        const db = new Database(file, { readonly: true });
        try {
          db.prepare("INSERT INTO kv (namespace, key, value) VALUES ('n', 'k', 'v')").run();
        } finally {
          db.close();
        }
      },
    },
    {
      what: "a file that must exist and does not",
      code: "SQLITE_CANTOPEN",
      expected: "UNREACHABLE",
      provoke: (file) => new Database(`${file}-missing`, { fileMustExist: true }).close(),
    },
    {
      what: "a database that may not grow (disk full)",
      code: "SQLITE_FULL",
      expected: "UNREACHABLE",
      provoke: (file) => {
        const db = new Database(file);
        try {
          db.pragma(`max_page_count = ${String(db.pragma("page_count", { simple: true }))}`);
          db.prepare("INSERT INTO kv (namespace, key, value) VALUES ('n', 'big', ?)").run("x".repeat(100_000));
        } finally {
          db.close();
        }
      },
    },
    {
      what: "a duplicate key",
      code: "SQLITE_CONSTRAINT_PRIMARYKEY",
      expected: "raw",
      provoke: (file) => {
        const db = new Database(file);
        try {
          db.prepare("INSERT INTO kv (namespace, key, value) VALUES ('n', 'dup', 'v')").run();
          db.prepare("INSERT INTO kv (namespace, key, value) VALUES ('n', 'dup', 'v')").run();
        } finally {
          db.close();
        }
      },
    },
    {
      what: "a syntax error",
      code: "SQLITE_ERROR",
      expected: "raw",
      provoke: (file) => {
        const db = new Database(file);
        try {
          db.prepare("SELEC 1").get();
        } finally {
          db.close();
        }
      },
    },
  ];
  for (const { what, code, expected, provoke } of PROVOKED) {
    test(`${what} (${code}) is ${expected === "raw" ? "the statement's own" : expected}`, async (t) => {
      const file = newFile();
      await storesFor(t)(file);
      let thrown: unknown;
      try {
        provoke(file);
      } catch (e) {
        thrown = e;
      }
      assert.ok(thrown instanceof Database.SqliteError, `the driver threw: ${String(thrown)}`);
      assert.equal(thrown.code, code);
      assertSorted(thrown, expected);
    });
  }

  const isOutage = (reason: RegExp) => (e: unknown): boolean =>
    e instanceof HonoroitError && e.code === "UNREACHABLE" && e.message.startsWith("cannot use the SQLite database at ") && reason.test(e.message);

  test("a full disk fails the store's writes as UNREACHABLE, in a transaction or not; reads go on, and writes resume after", async (t) => {
    const file = newFile();
    const db = SqliteDatabase.open(file);
    const store = new SqlStore(db);
    t.after(() => store.close());
    await store.migrate();
    await store.kv.set("ns", "before", "1");
    await db.exec(`PRAGMA max_page_count = ${String((await db.get("PRAGMA page_count"))?.["page_count"])}`);
    const big = "x".repeat(100_000);
    await assert.rejects(store.kv.set("ns", "big", big), isOutage(/: the disk is full \(SQLITE_FULL: database or disk is full\)$/));
    await assert.rejects(store.transaction((tx) => tx.kv.set("ns", "big", big)), isOutage(/the disk is full/));
    assert.equal(await store.kv.get("ns", "before"), "1", "reads go on");
    await db.exec("PRAGMA max_page_count = 1073741823");
    await store.kv.set("ns", "big", big);
    assert.equal((await store.kv.get("ns", "big"))?.length, big.length, "the same write goes through once there is room");
  });

  test("a database that refuses writes fails them as UNREACHABLE; a constraint violation stays the statement's own", async (t) => {
    const file = newFile();
    const db = SqliteDatabase.open(file);
    const store = new SqlStore(db);
    t.after(() => store.close());
    await store.migrate();
    await assert.rejects(db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'again', 0)"), (e: unknown) => {
      assert.ok(e instanceof Database.SqliteError, String(e));
      assert.equal(e.code, "SQLITE_CONSTRAINT_PRIMARYKEY");
      return true;
    });
    await db.exec("PRAGMA query_only = ON");
    await assert.rejects(store.kv.set("ns", "k", "v"), isOutage(/cannot be written \(a read-only file, folder or file system\?\) \(SQLITE_READONLY/));
    await assert.rejects(store.transaction((tx) => tx.options.set("allow.users", "@*:a.example")), isOutage(/cannot be written/));
    assert.equal(await store.kv.get("ns", "k"), undefined, "reads go on");
  });
});
