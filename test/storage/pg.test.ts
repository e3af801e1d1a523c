import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import { Client } from "pg";
import { HonoroitError } from "../../src/core/errors.ts";
import { parseRoomId, parseUserId } from "../../src/core/ids.ts";
import type { Store } from "../../src/core/ports.ts";
import { MIGRATIONS } from "../../src/adapters/storage/migrations.ts";
import { openStore } from "../../src/adapters/storage/open-store.ts";
import { PgTicketStore, describeTarget } from "../../src/adapters/storage/pg-store.ts";
import { probeService, requireService } from "../support/services.ts";
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

// Needs no server: these addresses refuse or do not resolve.
describe("PostgreSQL connection failures", () => {
  test("a refused connection is UNREACHABLE, names host:port and hides the password", async () => {
    await assert.rejects(PgTicketStore.connect("postgres://honoroit:s3cret-pw@127.0.0.1:1/honoroit"), (e: unknown) => {
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

describe("PostgreSQL DSN", () => {
  test("a DSN that is not a postgres:// URL is BAD_CONFIG and is not repeated", async () => {
    for (const dsn of ["host=db user=honoroit password=s3cret-pw", "mysql://u:s3cret-pw@db/x"]) {
      await assert.rejects(
        PgTicketStore.connect(dsn),
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

  storeContract("postgres", async () => PgTicketStore.connect(await freshDsn()));

  describe("PostgreSQL store", () => {
    const stores: Store[] = [];
    after(async () => {
      for (const store of stores) await store.close();
    });
    async function twoStores(): Promise<[PgTicketStore, PgTicketStore]> {
      const dsn = await freshDsn();
      const pair: [PgTicketStore, PgTicketStore] = [await PgTicketStore.connect(dsn), await PgTicketStore.connect(dsn)];
      stores.push(...pair);
      return pair;
    }

    test("two migrate runs at once apply the schema once", async () => {
      const [a, b] = await twoStores();
      const [fromA, fromB] = await Promise.all([a.migrate(), b.migrate()]);
      const versions = [...fromA, ...fromB].map((m) => m.version).sort((x, y) => x - y);
      assert.deepEqual(versions, MIGRATIONS.map((m) => m.version), "every migration applied by exactly one of them");
      assert.ok((await a.migrationStatus()).every((m) => m.appliedAt !== null));
      assert.deepEqual(await b.migrate(), []);
    });

    test("two openTicket calls at once for one room make one ticket, counted once", async () => {
      const [a, b] = await twoStores();
      await a.migrate();
      const customer = parseUserId("@racer:race.example");
      const ROOMS = 20;
      for (let i = 0; i < ROOMS; i++) {
        const input = { customer, customerRoom: parseRoomId(`!race${i}:race.example`), openedAt: new Date() };
        const [x, y] = await Promise.all([a.openTicket(input), b.openTicket(input)]);
        assert.equal(x.ticket.id, y.ticket.id, `room ${i}: one ticket`);
        assert.equal([x, y].filter((o) => o.created).length, 1, `room ${i}: created once`);
        assert.deepEqual([x.customerOrdinal, x.homeserverOrdinal], [i + 1, i + 1], `room ${i}: counted once`);
        assert.deepEqual([y.customerOrdinal, y.homeserverOrdinal], [i + 1, i + 1]);
      }
      assert.equal(await a.countTickets({ status: "open" }), ROOMS);
      assert.deepEqual(await b.countRequest(customer), { customerOrdinal: ROOMS + 1, homeserverOrdinal: ROOMS + 1 });
    });

    test("tickets opened at once in different rooms get distinct ordinals", async () => {
      const [a, b] = await twoStores();
      await a.migrate();
      const opened = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          (i % 2 === 0 ? a : b).openTicket({
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

    test("a database that does not exist is UNREACHABLE", async () => {
      await assert.rejects(
        PgTicketStore.connect(dsnFor(`${database}_missing`)),
        (e: unknown) => e instanceof HonoroitError && e.code === "UNREACHABLE" && /does not exist/.test(e.message),
      );
    });
  });
}
