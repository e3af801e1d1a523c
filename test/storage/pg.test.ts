import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import { Client } from "pg";
import { HonoroitError } from "../../src/core/errors.ts";
import { parseRoomId, parseUserId } from "../../src/core/ids.ts";
import { MIGRATIONS } from "../../src/adapters/storage/migrations.ts";
import { openStore } from "../../src/adapters/storage/open-store.ts";
import { describeTarget, numberPlaceholders, PgDatabase } from "../../src/adapters/storage/pg-database.ts";
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
      const raise = (code: string): Promise<number> => db.run(`DO $$ BEGIN RAISE EXCEPTION 'made up' USING ERRCODE = '${code}'; END $$`);
      for (const code of ["55P03", "53300", "40P01"]) await assert.rejects(raise(code), hasCode("BUSY"), code);
      for (const code of ["57P01", "57P03", "08006"]) {
        await assert.rejects(raise(code), (e: unknown) => hasCode("UNREACHABLE")(e) && e instanceof Error && e.message.startsWith("cannot reach PostgreSQL at "), code);
      }
      await assert.rejects(raise("22012"), (e: unknown) => !(e instanceof HonoroitError), "a failing statement is not a service problem");
      assert.equal(await db.get("SELECT 1 AS one").then((r) => r?.["one"]), 1, "the pool still works");
    });

    test("a database that does not exist is UNREACHABLE", async () => {
      await assert.rejects(
        PgDatabase.connect(dsnFor(`${database}_missing`)),
        (e: unknown) => e instanceof HonoroitError && e.code === "UNREACHABLE" && /does not exist/.test(e.message),
      );
    });
  });
}
