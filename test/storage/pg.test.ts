import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import { Client, DatabaseError } from "pg";
import { HonoroitError } from "../../src/core/errors.ts";
import { parseRoomId, parseUserId } from "../../src/core/ids.ts";
import { MIGRATIONS } from "../../src/adapters/storage/migrations.ts";
import { openStore } from "../../src/adapters/storage/open-store.ts";
import { describeTarget, numberPlaceholders, PgDatabase } from "../../src/adapters/storage/pg-database.ts";
import { pgFailure } from "../../src/adapters/storage/pg-failure.ts";
import type { PgOptions } from "../../src/adapters/storage/pg-database.ts";
import { SqlStore } from "../../src/adapters/storage/sql-store.ts";
import { probeService, requireService } from "../support/services.ts";
import { signal } from "./contract/support.ts";
import { storeContract } from "./store-contract.ts";

// A server where this run may create and drop a database of its own.
const ADMIN_DSN = process.env["HONOROIT_TEST_PG_DSN"] ?? "postgres://postgres@127.0.0.1:5432/postgres";
const SERVICE = `PostgreSQL at ${describeTarget(ADMIN_DSN)}`;

/** The DSN of `database` on the admin server, optionally with every table in `schema`. */
function dsnFor(database: string, schema?: string): string {
  const url = new URL(ADMIN_DSN);
  url.pathname = `/${database}`;
  if (schema !== undefined) url.searchParams.set("options", `-c search_path=${schema}`);
  return url.toString();
}

const hasCode = (code: string) => (e: unknown): boolean => e instanceof HonoroitError && e.code === code;

type Expected = "BUSY" | "UNREACHABLE" | "raw";

/**
 * Server errors by SQLSTATE and what they are sorted as: BUSY and UNREACHABLE say nothing about
 * the statement (it is tried again later); raw ones are the statement's own (a bug is a bug).
 */
const SERVER_ERRORS: readonly (readonly [sqlstate: string, expected: Expected, reason?: RegExp])[] = [
  ["40001", "BUSY", /serialization failure/],
  ["40P01", "BUSY", /deadlock/],
  ["55P03", "BUSY", /lock/],
  ["53000", "BUSY", /short of resources/],
  ["53100", "BUSY", /the disk is full/],
  ["53200", "BUSY", /out of memory/],
  ["53300", "BUSY", /too many connections/],
  ["53400", "BUSY", /short of resources/],
  ["25006", "BUSY", /read-only/],
  ["57014", "BUSY", /cancelled or timed out/],
  ["57P01", "UNREACHABLE"],
  ["57P02", "UNREACHABLE"],
  ["57P03", "UNREACHABLE"],
  ["08000", "UNREACHABLE"],
  ["08003", "UNREACHABLE"],
  ["08006", "UNREACHABLE"],
  ["08P01", "UNREACHABLE"],
  ["3D000", "UNREACHABLE"],
  ["28P01", "UNREACHABLE"],
  ["23505", "raw"],
  ["23503", "raw"],
  ["22012", "raw"],
  ["42601", "raw"],
  ["42P01", "raw"],
  ["25P02", "raw"],
  ["57000", "raw"],
  ["P0001", "raw"],
];

/** Asserts what became of a server error: the HonoroitError expected, naming `target`, or the error itself. */
function assertSorted(sorted: unknown, original: unknown, expected: Expected, target: string, reason?: RegExp): void {
  if (expected === "raw") {
    assert.ok(!(sorted instanceof HonoroitError), `the statement's own error, thrown as it is: ${String(sorted)}`);
    if (original !== undefined) assert.equal(sorted, original);
    return;
  }
  assert.ok(sorted instanceof HonoroitError, String(sorted));
  assert.equal(sorted.code, expected);
  assert.ok(sorted.message.startsWith(expected === "BUSY" ? `PostgreSQL at ${target} is busy: ` : `cannot reach PostgreSQL at ${target}: `), sorted.message);
  if (reason !== undefined) assert.match(sorted.message, reason);
}

/** A server error as `pg` gives it. */
function serverError(sqlstate: string, message = "made up"): DatabaseError {
  const e = new DatabaseError(message, 0, "error");
  e.code = sqlstate;
  return e;
}

// Needs no server: the sorting on errors made here.
describe("PostgreSQL errors sorted by cause", () => {
  const TARGET = "db.example:5432";
  for (const [sqlstate, expected, reason] of SERVER_ERRORS) {
    test(`${sqlstate} is ${expected === "raw" ? "the statement's own" : expected}`, () => {
      const e = serverError(sqlstate);
      assertSorted(pgFailure(e, TARGET), e, expected, TARGET, reason);
    });
  }

  test("the message says why, then what the server said", () => {
    const sorted = pgFailure(serverError("53100", 'could not extend file "base/1/2": No space left on device'), TARGET);
    assert.ok(sorted instanceof Error);
    assert.equal(sorted.message, `PostgreSQL at ${TARGET} is busy: the disk is full (53100: could not extend file "base/1/2": No space left on device); try again`);
  });

  const NETWORK: readonly (readonly [what: string, error: Error, expected: Expected])[] = [
    ["a reset connection", Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }), "UNREACHABLE"],
    ["a refused connection", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), "UNREACHABLE"],
    ["a socket closed under a query", new Error("Connection terminated unexpectedly"), "UNREACHABLE"],
    ["no connection within the timeout", new Error("timeout exceeded when trying to connect"), "UNREACHABLE"],
    ["a server error without a code", new DatabaseError("made up", 0, "error"), "raw"],
    ["a bug of ours", new TypeError("x is not a function"), "raw"],
  ];
  for (const [what, error, expected] of NETWORK) {
    test(`${what} is ${expected === "raw" ? "left alone" : expected}`, () => {
      assertSorted(pgFailure(error, TARGET), error, expected, TARGET);
    });
  }
});

// Needs no server: these addresses refuse or do not resolve.
describe("PostgreSQL connection failures", () => {
  test("a refused connection is UNREACHABLE, names host:port and hides the password", async () => {
    await assert.rejects(PgDatabase.connect("postgres://honoroit:s3cret-pw@127.0.0.1:1/honoroit"), (e: unknown) => {
      assert.ok(e instanceof HonoroitError, String(e));
      assert.equal(e.code, "UNREACHABLE");
      assert.match(e.message, /^cannot reach PostgreSQL at 127\.0\.0\.1:1: /);
      assert.match(e.message, /connection refused/);
      assert.doesNotMatch(e.message, /s3cret-pw/);
      return true;
    });
  });

  test("an unknown host is UNREACHABLE", async () => {
    await assert.rejects(
      openStore({ dialect: "postgres", dsn: "postgres://u:s3cret-pw@honoroit-no-such-host.invalid:5433/x" }),
      (e: unknown) =>
        e instanceof HonoroitError &&
        e.code === "UNREACHABLE" &&
        e.message.includes("honoroit-no-such-host.invalid:5433") &&
        !e.message.includes("s3cret-pw"),
    );
  });
});

describe("PostgreSQL DSN and statements", () => {
  test("a DSN that is not a postgres:// URL is BAD_CONFIG and is not repeated", async () => {
    for (const dsn of ["host=db user=honoroit password=s3cret-pw", "mysql://u:s3cret-pw@db/x"]) {
      await assert.rejects(
        PgDatabase.connect(dsn),
        (e: unknown) => e instanceof HonoroitError && e.code === "BAD_CONFIG" && !e.message.includes("s3cret-pw"),
        dsn,
      );
    }
  });

  test("describeTarget gives host:port with the defaults filled in", () => {
    assert.equal(describeTarget("postgres://u:pw@db.example/x"), "db.example:5432");
    assert.equal(describeTarget("postgresql://db.example:6432/x"), "db.example:6432");
    assert.equal(describeTarget("postgres:///x?host=/run/postgresql"), "/run/postgresql:5432");
    assert.equal(describeTarget("not a url"), "the configured DSN");
  });

  const REWRITES: readonly (readonly [string, string])[] = [
    ["SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2"],
    ["INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a) DO NOTHING", "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO NOTHING"],
    ["SELECT '?' AS q, \"we?ird\" FROM t WHERE a = ?", "SELECT '?' AS q, \"we?ird\" FROM t WHERE a = $1"],
    ["SELECT 'it''s ?', ? -- why?\nFROM t /* or? */ WHERE b = ?", "SELECT 'it''s ?', $1 -- why?\nFROM t /* or? */ WHERE b = $2"],
    ["DO $$ BEGIN PERFORM '?'; END $$; SELECT ?", "DO $$ BEGIN PERFORM '?'; END $$; SELECT $1"],
    ["SELECT $tag$ a ? b $tag$, ?", "SELECT $tag$ a ? b $tag$, $1"],
    ["SELECT 1", "SELECT 1"],
  ];
  for (const [written, sent] of REWRITES) {
    test(`placeholders: ${JSON.stringify(written)}`, () => {
      assert.equal(numberPlaceholders(written), sent);
    });
  }
});

// Single connections, not pools: Client.end() resolves only once the connection is closed,
// so nothing is still connected when the database is dropped.
const admin = new Client({ connectionString: ADMIN_DSN, connectionTimeoutMillis: 5000 });
const problem = await probeService(() => admin.connect());

if (problem !== undefined) {
  test("PostgreSQL store", (t) => {
    requireService(t, SERVICE, problem);
  });
} else {
  const database = `honoroit_test_${randomBytes(6).toString("hex")}`;
  await admin.query(`CREATE DATABASE ${database}`);
  // Each store gets a schema of its own in this run's database: as good as a new database,
  // and much faster to make.
  const schemas = new Client({ connectionString: dsnFor(database) });
  await schemas.connect();
  let schemaCount = 0;
  async function freshDsn(): Promise<string> {
    const schema = `s${++schemaCount}`;
    await schemas.query(`CREATE SCHEMA ${schema}`);
    return dsnFor(database, schema);
  }

  after(async () => {
    await schemas.end();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  storeContract("postgres", { dialect: "postgres", database: async () => PgDatabase.connect(await freshDsn()) });

  describe("PostgreSQL store", () => {
    const opened: { close(): Promise<void> }[] = [];
    after(async () => {
      for (const thing of opened) await thing.close();
    });
    async function connect(dsn: string, options?: PgOptions): Promise<PgDatabase> {
      const db = await PgDatabase.connect(dsn, options);
      opened.push(db);
      return db;
    }
    /** Two stores, each with a pool of its own, on one fresh schema. */
    async function twoStores(): Promise<[SqlStore, SqlStore]> {
      const dsn = await freshDsn();
      return [new SqlStore(await connect(dsn)), new SqlStore(await connect(dsn))];
    }

    test("two migrate runs at once apply the schema once", async () => {
      const [a, b] = await twoStores();
      const [fromA, fromB] = await Promise.all([a.migrate(), b.migrate()]);
      const versions = [...fromA, ...fromB].map((m) => m.version).sort((x, y) => x - y);
      assert.deepEqual(versions, MIGRATIONS.map((m) => m.version), "every migration applied by exactly one of them");
      assert.ok((await a.migrationStatus()).every((m) => m.appliedAt !== null));
      assert.deepEqual(await b.migrate(), []);
    });

    test("two tickets.open calls at once for one room, from two pools, make one ticket, counted once", async () => {
      const [a, b] = await twoStores();
      await a.migrate();
      const customer = parseUserId("@racer:race.example");
      const ROOMS = 20;
      for (let i = 0; i < ROOMS; i++) {
        const input = { customer, customerRoom: parseRoomId(`!race${i}:race.example`), openedAt: new Date() };
        const [x, y] = await Promise.all([a.tickets.open(input), b.tickets.open(input)]);
        assert.equal(x.ticket.id, y.ticket.id, `room ${i}: one ticket`);
        assert.equal([x, y].filter((o) => o.created).length, 1, `room ${i}: created once`);
        assert.deepEqual([x.customerOrdinal, x.homeserverOrdinal], [i + 1, i + 1], `room ${i}: counted once`);
        assert.deepEqual([y.customerOrdinal, y.homeserverOrdinal], [i + 1, i + 1]);
      }
      assert.equal(await a.tickets.count({ status: "open" }), ROOMS);
      assert.deepEqual(await b.tickets.countRequest(customer), { customerOrdinal: ROOMS + 1, homeserverOrdinal: ROOMS + 1 });
    });

    test("tickets opened at once in different rooms get distinct ordinals", async () => {
      const [a, b] = await twoStores();
      await a.migrate();
      const opened = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          (i % 2 === 0 ? a : b).tickets.open({
            customer: parseUserId(`@user${i}:busy.example`),
            customerRoom: parseRoomId(`!busy${i}:busy.example`),
            openedAt: new Date(),
          }),
        ),
      );
      assert.deepEqual(
        opened.map((o) => o.homeserverOrdinal).sort((x, y) => x - y),
        Array.from({ length: 16 }, (_, i) => i + 1),
      );
    });

    test("a deadlock between two transactions runs the loser again, and both commit", { timeout: 30_000 }, async () => {
      const [a, b] = await twoStores();
      await a.migrate();
      await a.kv.set("race", "one", "start");
      await a.kv.set("race", "two", "start");
      const aHolds = signal();
      const bHolds = signal();
      let runs = 0;
      // Each locks one row, waits for the other to lock the other row, then wants it: PostgreSQL
      // ends the deadlock by failing one of them, which must then run again by itself.
      const first = a.transaction(async (tx) => {
        runs++;
        await tx.kv.set("race", "one", "a");
        aHolds.fire();
        await bHolds.promise;
        await tx.kv.set("race", "two", "a");
      });
      const second = b.transaction(async (tx) => {
        runs++;
        await tx.kv.set("race", "two", "b");
        bHolds.fire();
        await aHolds.promise;
        await tx.kv.set("race", "one", "b");
      });
      await Promise.all([first, second]);
      assert.equal(runs, 3, "one of them ran twice");
      const final = [await a.kv.get("race", "one"), await a.kv.get("race", "two")];
      assert.ok(
        JSON.stringify(final) === JSON.stringify(["a", "a"]) || JSON.stringify(final) === JSON.stringify(["b", "b"]),
        `each transaction's writes stayed together: ${JSON.stringify(final)}`,
      );
    });

    test("a conflict that does not go away is BUSY after a few attempts", async () => {
      const db = await connect(await freshDsn(), { transactionAttempts: 3 });
      let runs = 0;
      await assert.rejects(
        db.transaction(async (tx) => {
          runs++;
          await tx.run("DO $$ BEGIN RAISE EXCEPTION 'made up' USING ERRCODE = '40001'; END $$");
        }),
        (e: unknown) => hasCode("BUSY")(e) && e instanceof Error && /kept reporting conflicting transactions/.test(e.message),
      );
      assert.equal(runs, 3);
    });

    test("server errors are sorted by cause: busy, unreachable, or the statement's own", async () => {
      const db = await connect(await freshDsn());
      const target = describeTarget(ADMIN_DSN);
      const raise = (code: string): string => `DO $$ BEGIN RAISE EXCEPTION 'made up' USING ERRCODE = '${code}'; END $$`;
      for (const [sqlstate, expected, reason] of SERVER_ERRORS) {
        const check = (e: unknown): boolean => {
          assertSorted(e, undefined, expected, target, reason);
          const raw = e instanceof HonoroitError ? e.cause : e;
          assert.ok(raw instanceof DatabaseError && raw.code === sqlstate, `the server's error, ${sqlstate}, is kept`);
          return true;
        };
        await assert.rejects(db.run(raise(sqlstate)), check, `${sqlstate} alone`);
        // In a transaction, whatever the cause, nothing of it is committed.
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.run("CREATE TABLE IF NOT EXISTS written (n INTEGER)");
            await tx.run("INSERT INTO written (n) VALUES (1)");
            await tx.run(raise(sqlstate));
          }),
          // A conflict that goes on is BUSY with a message of its own, once the attempts run out.
          sqlstate.startsWith("40") ? hasCode("BUSY") : check,
          `${sqlstate} in a transaction`,
        );
      }
      await assert.rejects(db.all("SELECT n FROM written"), (e: unknown) => e instanceof DatabaseError && e.code === "42P01", "nothing was committed");
      assert.equal(await db.get("SELECT 1 AS one").then((r) => r?.["one"]), 1, "the pool still works");
    });

    test("a statement timeout is BUSY, and so is a write after a failover to a read-only standby", async () => {
      const db = await connect(await freshDsn());
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.run("SET LOCAL statement_timeout = 50");
          await tx.run("SELECT pg_sleep(5)");
        }),
        (e: unknown) => hasCode("BUSY")(e) && e instanceof Error && /cancelled or timed out \(57014: canceling statement due to statement timeout\)/.test(e.message),
      );
      await assert.rejects(
        db.transaction(async (tx) => {
          // What a standby answers to any write.
          await tx.run("SET TRANSACTION READ ONLY");
          await tx.run("CREATE TABLE refused (n INTEGER)");
        }),
        (e: unknown) => hasCode("BUSY")(e) && e instanceof Error && /read-only .*\(25006: cannot execute CREATE TABLE in a read-only transaction\)/.test(e.message),
      );
      await db.run("CREATE TABLE accepted (n INTEGER)");
      assert.equal(await db.run("INSERT INTO accepted (n) VALUES (1)"), 1, "the pool goes on working");
    });

    test("a database that does not exist is UNREACHABLE", async () => {
      await assert.rejects(
        PgDatabase.connect(dsnFor(`${database}_missing`)),
        (e: unknown) => e instanceof HonoroitError && e.code === "UNREACHABLE" && /does not exist/.test(e.message),
      );
    });
  });
}
