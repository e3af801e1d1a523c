import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseTicketId } from "../../../src/core/ids.ts";
import { MIGRATIONS, SCHEMA_MIGRATIONS_DDL } from "../../../src/adapters/storage/migrations.ts";
import type { SqlDatabase } from "../../../src/adapters/storage/sql.ts";
import { at, room, STORE_NOW, user } from "./support.ts";
import type { Harness } from "./support.ts";

/** Brings a fresh database to `version`, as the honoroit of that version left it. */
async function migratedTo(h: Harness, db: SqlDatabase, version: number): Promise<void> {
  await db.exec(SCHEMA_MIGRATIONS_DDL);
  for (const m of MIGRATIONS.slice(0, version)) {
    await db.exec(m.sql[h.dialect]);
    await db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [m.version, m.name, at(0).getTime()]);
  }
}

/** Creating and upgrading the schema. */
export function migrationContract(h: Harness): void {
  describe("migrations", () => {
    test("a new store has every migration pending; migrate applies all, then nothing", async () => {
      const store = await h.unmigrated();
      const before = await store.migrationStatus();
      assert.deepEqual(
        before.map((m) => [m.version, m.name, m.appliedAt]),
        MIGRATIONS.map((m) => [m.version, m.name, null]),
      );
      assert.deepEqual(await store.migrationStatus(), before, "reading the status changes nothing");

      const applied = await store.migrate();
      assert.deepEqual(
        applied.map((m) => [m.version, m.appliedAt?.getTime()]),
        MIGRATIONS.map((m) => [m.version, STORE_NOW.getTime()]),
      );
      assert.deepEqual(await store.migrate(), [], "the second migrate is a no-op");

      const after = await store.migrationStatus();
      assert.deepEqual(
        after.map((m) => [m.version, m.appliedAt?.getTime()]),
        MIGRATIONS.map((m) => [m.version, STORE_NOW.getTime()]),
        "every migration shows as applied, in version order",
      );
    });

    test("the status shows an applied migration this version does not know", async () => {
      const db = await h.database();
      const store = h.storeOn(db);
      await store.migrate();
      await db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [999, "from a newer honoroit", at(1).getTime()]);
      const status = await store.migrationStatus();
      assert.deepEqual(status.at(-1), { version: 999, name: "from a newer honoroit", appliedAt: at(1) });
      assert.equal(status.length, MIGRATIONS.length + 1);
      assert.deepEqual(await store.migrate(), [], "and migrating leaves it alone");
    });

    test("migration 2 moves the send ledger into the ledger and replaces the outbox with jobs", async () => {
      const db = await h.database();
      const first = MIGRATIONS[0];
      assert.ok(first !== undefined);
      // A database as honoroit left it before migration 2, with messages it had sent.
      await db.exec(SCHEMA_MIGRATIONS_DDL);
      await db.exec(first.sql[h.dialect]);
      await db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [1, first.name, at(0).getTime()]);
      for (const [key, eventId, minutes] of [["greet:1", "$greeting", 1], ["root:1", "$root", 2], ["old", "$old", -60]] as const) {
        await db.run("INSERT INTO sent_messages (key, event_id, sent_at) VALUES (?, ?, ?)", [key, eventId, at(minutes).getTime()]);
      }

      const store = h.storeOn(db);
      assert.deepEqual(
        (await store.migrationStatus()).map((m) => [m.version, m.appliedAt?.getTime() ?? null]),
        MIGRATIONS.map((m) => [m.version, m.version === 1 ? at(0).getTime() : null]),
      );
      assert.deepEqual((await store.migrate()).map((m) => m.version), MIGRATIONS.slice(1).map((m) => m.version));

      assert.equal(await store.ledger.get("greet:1"), "$greeting");
      assert.equal(await store.ledger.get("root:1"), "$root");
      assert.equal(await store.ledger.prune(at(0)), 1, "the time each was sent came along");
      assert.equal(await store.ledger.get("old"), undefined);
      assert.equal(await store.ledger.get("greet:1"), "$greeting");
      await assert.rejects(db.all("SELECT * FROM sent_messages"), "sent_messages is gone");
      await assert.rejects(db.all("SELECT * FROM redmine_outbox"), "redmine_outbox is gone");
      assert.equal(await store.jobs.enqueue({ kind: "ping", key: "k", payload: "{}", runAt: at(0) }), true, "jobs work");
    });

    test("migration 3 counts the tickets already there as greeted when opened; new ones start with a greeting due", async () => {
      const db = await h.database();
      await migratedTo(h, db, 2);
      // One closed and one open ticket, as honoroit left them before migration 3.
      const insert = `INSERT INTO tickets (customer, homeserver, customer_room, status, opened_at, closed_at, last_activity_at,
          close_reason, customer_ordinal, homeserver_ordinal)
        VALUES (?, 'a.example', ?, ?, ?, ?, ?, ?, 1, 1) RETURNING id`;
      const closed = await db.get(insert, [user("old"), room("old"), "closed", at(1).getTime(), at(2).getTime(), at(2).getTime(), "operator"]);
      const open = await db.get(insert, [user("open"), room("open"), "open", at(3).getTime(), null, at(4).getTime(), null]);
      assert.ok(closed !== undefined && open !== undefined);

      const store = h.storeOn(db);
      assert.deepEqual((await store.migrate()).map((m) => m.version), MIGRATIONS.slice(2).map((m) => m.version));
      const greetedAt = async (row: Readonly<Record<string, unknown>>): Promise<Date | null | undefined> =>
        (await store.tickets.get(parseTicketId(Number(row["id"]))))?.greetedAt;
      assert.deepEqual(await greetedAt(closed), at(1));
      assert.deepEqual(await greetedAt(open), at(3));

      const fresh = await store.tickets.open({ customer: user("new"), customerRoom: room("new"), openedAt: at(5) });
      assert.equal(fresh.ticket.greetedAt, null);
      await store.tickets.setGreeted(fresh.ticket.id, at(6));
      assert.deepEqual((await store.tickets.get(fresh.ticket.id))?.greetedAt, at(6));
    });
  });
}
