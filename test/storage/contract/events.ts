import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseTicketId } from "../../../src/core/ids.ts";
import type { RelayRecord } from "../../../src/core/ports/storage.ts";
import { at, event, isNotFound, openTicket, room, STORE_NOW, user } from "./support.ts";
import type { Harness } from "./support.ts";

/** Relays, the event journal, the ledger and the sync token. */
export function eventContract(h: Harness): void {
  describe("relays", () => {
    test("found from either side; the first record for a source wins", async () => {
      const store = await h.fresh();
      const ticket = await openTicket(store, user("alice"), room("r"), 0);
      const record: RelayRecord = {
        ticketId: ticket.id,
        kind: "customer-to-thread",
        sourceRoom: room("r"),
        sourceEvent: event("from-customer"),
        sourceSender: user("alice"),
        targetRoom: room("operators"),
        targetEvent: event("in-thread"),
      };
      await store.relays.record(record);
      assert.deepEqual(await store.relays.bySource(event("from-customer")), record);
      assert.deepEqual(await store.relays.byTarget(event("in-thread")), record);

      await store.relays.record({ ...record, targetEvent: event("second-copy"), kind: "bot" });
      assert.deepEqual(await store.relays.bySource(event("from-customer")), record, "the first record is kept");
      assert.equal(await store.relays.byTarget(event("second-copy")), undefined);

      const back: RelayRecord = {
        ticketId: ticket.id,
        kind: "operator-to-customer",
        sourceRoom: room("operators"),
        sourceEvent: event("from-operator"),
        sourceSender: null,
        targetRoom: room("r"),
        targetEvent: event("to-customer"),
      };
      await store.relays.record(back);
      assert.deepEqual(await store.relays.byTarget(event("to-customer")), back);
      assert.equal(await store.relays.bySource(event("unknown")), undefined);
      assert.equal(await store.relays.byTarget(event("unknown")), undefined);
    });

    test("a relay for a ticket that does not exist is NOT_FOUND, naming it", async () => {
      const store = await h.fresh();
      await assert.rejects(
        store.relays.record({
          ticketId: parseTicketId(404),
          kind: "bot",
          sourceRoom: room("r"),
          sourceSender: null,
          sourceEvent: event("s"),
          targetRoom: room("o"),
          targetEvent: event("t"),
        }),
        (e: unknown) => isNotFound(e) && e instanceof Error && e.message === "no ticket #404",
      );
      assert.equal(await store.relays.bySource(event("s")), undefined);
    });
  });

  describe("event journal", () => {
    test("an event is handled once marked; marking twice is fine", async () => {
      const store = await h.fresh();
      assert.equal(await store.journal.isHandled(event("e1")), false);
      await store.journal.markHandled(event("e1"), at(0));
      await store.journal.markHandled(event("e1"), at(1));
      assert.equal(await store.journal.isHandled(event("e1")), true);
      assert.equal(await store.journal.isHandled(event("e2")), false);
    });

    test("prune forgets events handled before the cutoff and counts them", async () => {
      const store = await h.fresh();
      const { journal } = store;
      await journal.markHandled(event("old1"), at(0));
      await journal.markHandled(event("old2"), at(5));
      await journal.markHandled(event("edge"), at(10));
      await journal.markHandled(event("new"), at(20));
      // Marking again keeps the first time, so this stays old.
      await journal.markHandled(event("old1"), at(30));

      assert.equal(await journal.prune(at(10)), 2, "strictly before the cutoff");
      assert.equal(await journal.isHandled(event("old1")), false);
      assert.equal(await journal.isHandled(event("old2")), false);
      assert.equal(await journal.isHandled(event("edge")), true, "at the cutoff is kept");
      assert.equal(await journal.isHandled(event("new")), true);
      assert.equal(await journal.prune(at(10)), 0, "nothing left to prune");

      assert.equal(await journal.prune(at(60)), 2);
      assert.equal(await journal.isHandled(event("edge")), false);
      assert.equal(await journal.isHandled(event("new")), false);
      await journal.markHandled(event("old1"), at(61));
      assert.equal(await journal.isHandled(event("old1")), true, "a forgotten event can be marked again");
    });
  });

  describe("ledger", () => {
    test("the first value put under a key wins", async () => {
      const store = await h.fresh();
      assert.equal(await store.ledger.get("greet:1"), undefined);
      await store.ledger.put("greet:1", "$first", at(0));
      await store.ledger.put("greet:1", "$second", at(1));
      await store.ledger.put("count:$cmd", JSON.stringify({ customerOrdinal: 2, homeserverOrdinal: 5 }), at(2));
      assert.equal(await store.ledger.get("greet:1"), "$first", "first write wins");
      assert.deepEqual(JSON.parse((await store.ledger.get("count:$cmd")) ?? "null"), { customerOrdinal: 2, homeserverOrdinal: 5 });
      assert.equal(await store.ledger.get("greet:2"), undefined);
      assert.equal(await store.kv.get("ledger", "greet:1"), undefined, "not kept in the key-value area");
    });

    test("prune forgets results recorded before the cutoff and counts them", async () => {
      const store = await h.fresh();
      const { ledger } = store;
      await ledger.put("a", "$a", at(0));
      await ledger.put("b", "$b", at(5));
      await ledger.put("c", "$c", at(10));
      await ledger.put("d", "$d", at(20));
      // A second put for an old key neither replaces it nor makes it recent.
      await ledger.put("a", "$a2", at(30));

      assert.equal(await ledger.prune(at(10)), 2, "strictly before the cutoff");
      assert.deepEqual(await Promise.all(["a", "b", "c", "d"].map((k) => ledger.get(k))), [undefined, undefined, "$c", "$d"]);
      assert.equal(await ledger.prune(at(10)), 0, "nothing left to prune");

      await ledger.put("a", "$again", at(40));
      assert.equal(await ledger.get("a"), "$again", "a forgotten key can be put again");
      assert.equal(await ledger.prune(at(40)), 2, "c and d");
      assert.equal(await ledger.get("a"), "$again");
    });
  });

  describe("sync state", () => {
    test("the sync token round-trips and is replaced", async () => {
      const store = await h.fresh();
      assert.equal(await store.sync.getToken(), undefined);
      await store.sync.setToken("s72594_4483_1934");
      assert.equal(await store.sync.getToken(), "s72594_4483_1934");
      await store.sync.setToken("s72595_4484_1935");
      assert.equal(await store.sync.getToken(), "s72595_4484_1935");
    });

    test("the token is saved with the moment it was saved: the one given, or the store's clock", async () => {
      const store = await h.fresh();
      assert.equal(await store.sync.savedAt(), undefined, "nothing saved yet");
      await store.sync.setToken("s1", at(5));
      assert.deepEqual(await store.sync.savedAt(), at(5));
      await store.sync.setToken("s2");
      assert.equal(await store.sync.getToken(), "s2");
      assert.deepEqual(await store.sync.savedAt(), STORE_NOW);
    });

    test("a token saved by a version that did not record when has no savedAt, until saved again", async () => {
      const db = await h.database();
      const store = h.storeOn(db);
      await store.migrate();
      await db.run("INSERT INTO sync_state (name, value) VALUES (?, ?)", ["token", "s_old"]);
      assert.equal(await store.sync.getToken(), "s_old");
      assert.equal(await store.sync.savedAt(), undefined);
      await store.sync.setToken("s_new", at(7));
      assert.equal(await store.sync.getToken(), "s_new");
      assert.deepEqual(await store.sync.savedAt(), at(7));
    });

    test("the token and its moment are saved together, or not at all", async () => {
      const store = await h.fresh();
      await store.sync.setToken("s1", at(1));
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.sync.setToken("s2", at(2));
          assert.deepEqual([await tx.sync.getToken(), await tx.sync.savedAt()], ["s2", at(2)], "seen inside");
          throw new Error("the events it covers were not handled");
        }),
        /were not handled/,
      );
      assert.deepEqual([await store.sync.getToken(), await store.sync.savedAt()], ["s1", at(1)]);
    });
  });
}
