import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import { HonoroitError } from "../../src/core/errors.ts";
import { parseRoomId, parseUserId } from "../../src/core/ids.ts";
import type { TicketFilter } from "../../src/core/ticket.ts";
import { openStore } from "../../src/adapters/storage/open-store.ts";
import { SqliteTicketStore } from "../../src/adapters/storage/sqlite-store.ts";
import { listTicketsQuery, countTicketsQuery } from "../../src/adapters/storage/ticket-rows.ts";
import { storeContract } from "./store-contract.ts";

const dir = mkdtempSync(join(tmpdir(), "honoroit-sqlite-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

let files = 0;
const newFile = (): string => join(dir, `store-${++files}.db`);

storeContract("sqlite", () => Promise.resolve(SqliteTicketStore.open(newFile())));

describe("SQLite store", () => {
  test("the file is in WAL mode, and its folder is created", async () => {
    const file = join(dir, "nested", "deeper", "honoroit.db");
    const store = SqliteTicketStore.open(file);
    try {
      await store.migrate();
      assert.ok(existsSync(file));
      const db = new Database(file, { readonly: true });
      try {
        assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
      } finally {
        db.close();
      }
    } finally {
      await store.close();
    }
  });

  test("a second store migrating the same file finds nothing to do", async () => {
    const file = newFile();
    const first = SqliteTicketStore.open(file);
    const second = SqliteTicketStore.open(file);
    try {
      const [a, b] = await Promise.all([first.migrate(), second.migrate()]);
      assert.equal(a.length + b.length, (await first.migrationStatus()).length, "each migration applied once");
      assert.deepEqual(await second.migrate(), []);
    } finally {
      await first.close();
      await second.close();
    }
  });

  test("openStore opens a path or :memory:, and does not migrate", async () => {
    const store = await openStore({ dialect: "sqlite", dsn: ":memory:" });
    try {
      assert.equal(store.dialect, "sqlite");
      assert.ok((await store.migrationStatus()).every((m) => m.appliedAt === null));
      await store.migrate();
      const opened = await store.openTicket({
        customer: parseUserId("@a:b.example"),
        customerRoom: parseRoomId("!r:b.example"),
        openedAt: new Date(),
      });
      assert.equal(opened.created, true);
    } finally {
      await store.close();
    }
  });

  test("a file that cannot be created is UNREACHABLE, naming the path", () => {
    const blocker = join(dir, "not-a-folder");
    writeFileSync(blocker, "");
    const bad = join(blocker, "honoroit.db");
    assert.throws(
      () => SqliteTicketStore.open(bad),
      (e: unknown) => e instanceof HonoroitError && e.code === "UNREACHABLE" && e.message.includes(bad),
    );
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

  function plan(db: Database.Database, sql: string, params: readonly (string | number)[]): string[] {
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
    const store = SqliteTicketStore.open(file);
    await store.migrate();
    const seedStart = performance.now();
    seed();
    t.diagnostic(`seeded ${TICKETS} tickets in ${Math.round(performance.now() - seedStart)} ms`);

    const db = new Database(file);
    try {
      for (const phase of ["without statistics", "after ANALYZE"]) {
        if (phase === "after ANALYZE") db.exec("ANALYZE");
        for (const [what, filter] of LISTINGS) {
          const q = listTicketsQuery(filter, () => "?");
          assertIndexedInOrder(plan(db, q.text, q.params), `${what} ${phase}`);
          const c = countTicketsQuery(filter, () => "?");
          const countPlan = plan(db, c.text, c.params);
          if (filter.status !== "all") {
            assert.ok(countPlan.some((d) => d.includes("INDEX")), `count of ${what} ${phase}: ${countPlan.join(" | ")}`);
          }
        }
        const idle = plan(
          db,
          "SELECT * FROM tickets WHERE status = 'open' AND last_activity_at < ? ORDER BY last_activity_at, id LIMIT ?",
          [Date.now(), 100],
        );
        assertIndexedInOrder(idle, `idle lookup ${phase}`);
        const thread = plan(db, "SELECT * FROM tickets WHERE thread_root = ? ORDER BY opened_at DESC, id DESC LIMIT 1", ["$x"]);
        assert.ok(thread.some((d) => d.includes("tickets_thread_root")), `thread lookup ${phase}: ${thread.join(" | ")}`);
      }
    } finally {
      db.close();
    }

    // And the store itself answers quickly and correctly at this size (timings are for the log only).
    try {
      const listStart = performance.now();
      const page = await store.listTickets({ status: "closed", limit: 50 });
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
      const open = await store.countTickets({ status: "open" });
      const countMs = performance.now() - countStart;
      assert.equal(open, Math.ceil(TICKETS / OPEN_EVERY));
      assert.equal(await store.countTickets({}), TICKETS);
      t.diagnostic(`listTickets(closed, 50): ${listMs.toFixed(2)} ms; countTickets(open): ${countMs.toFixed(2)} ms`);
    } finally {
      await store.close();
    }
  });
});
