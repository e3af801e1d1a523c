import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseTicketId } from "../../../src/core/ids.ts";
import type { StoreScope } from "../../../src/core/ports/storage.ts";
import { at, event, isNotFound, room, signal, user } from "./support.ts";
import type { Harness } from "./support.ts";

const isMisuse = (e: unknown): boolean => e instanceof Error && /inside its own transaction; use the `tx`/.test(e.message);

/** `Store.transaction`: all or nothing, and only through `tx`. */
export function transactionContract(h: Harness): void {
  describe("transactions", () => {
    test("a transaction that throws commits nothing", async () => {
      const store = await h.fresh();
      const boom = new Error("boom");
      await assert.rejects(
        store.transaction(async (tx) => {
          const { ticket } = await tx.tickets.open({ customer: user("alice"), customerRoom: room("r"), openedAt: at(0) });
          await tx.relays.record({
            ticketId: ticket.id,
            kind: "customer-to-thread",
            sourceRoom: room("r"),
            sourceSender: user("alice"),
            sourceEvent: event("question"),
            targetRoom: room("ops"),
            targetEvent: event("copy"),
          });
          await tx.journal.markHandled(event("question"), at(0));
          await tx.ledger.put("root:1", "$root", at(0));
          await tx.jobs.enqueue({ kind: "tracker.open", key: "open:1", lane: "ticket:1", payload: "{}", runAt: at(0) });
          await tx.options.set("silent", "true");
          await tx.kv.set("ns", "k", "v");
          await tx.sync.setToken("s1");
          await tx.notes.markSynced(ticket.id, 7);
          throw boom;
        }),
        (e: unknown) => e === boom,
      );

      assert.equal(await store.tickets.count({}), 0);
      assert.equal(await store.tickets.findOpenByRoom(room("r")), undefined);
      assert.deepEqual(await store.tickets.countRequest(user("alice")), { customerOrdinal: 1, homeserverOrdinal: 1 }, "not counted");
      assert.equal(await store.relays.bySource(event("question")), undefined);
      assert.equal(await store.journal.isHandled(event("question")), false);
      assert.equal(await store.ledger.get("root:1"), undefined);
      assert.deepEqual(await store.jobs.counts(), { pending: new Map(), failed: new Map() });
      assert.equal((await store.options.all()).size, 0);
      assert.equal(await store.kv.get("ns", "k"), undefined);
      assert.equal(await store.sync.getToken(), undefined);
    });

    test("writes inside a transaction are seen by its reads, and committed together", async () => {
      const store = await h.fresh();
      const result = await store.transaction(async (tx) => {
        const opened = await tx.tickets.open({ customer: user("alice"), customerRoom: room("r"), openedAt: at(0) });
        assert.deepEqual(await tx.tickets.get(opened.ticket.id), opened.ticket);
        assert.equal((await tx.tickets.open({ customer: user("alice"), customerRoom: room("r"), openedAt: at(1) })).created, false);
        await tx.tickets.setTitle(opened.ticket.id, "[OPEN] first");
        assert.equal((await tx.tickets.findOpenByRoom(room("r")))?.title, "[OPEN] first");
        await tx.kv.set("ns", "k", "v");
        assert.equal(await tx.kv.get("ns", "k"), "v");
        await tx.jobs.enqueue({ kind: "tracker.open", key: "open:1", payload: "{}", runAt: at(0) });
        assert.deepEqual((await tx.jobs.due(at(0), ["tracker.open"], 10)).map((j) => j.key), ["open:1"]);
        return opened.ticket.id;
      });
      assert.equal((await store.tickets.get(result))?.title, "[OPEN] first", "committed");
      assert.equal(await store.kv.get("ns", "k"), "v");
      assert.deepEqual(new Map((await store.jobs.counts()).pending), new Map([["tracker.open", 1]]));
    });

    test("a failure inside is the caller's to see; NOT_FOUND still names the ticket", async () => {
      const store = await h.fresh();
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.kv.set("ns", "k", "v");
          await tx.notes.markSynced(parseTicketId(404), 1);
        }),
        (e: unknown) => isNotFound(e) && e instanceof Error && e.message === "no ticket #404",
      );
      assert.equal(await store.kv.get("ns", "k"), undefined);
    });

    test("a NOT_FOUND caught inside a transaction leaves it usable, on every database", async () => {
      const store = await h.fresh();
      const missing = parseTicketId(404);
      await store.transaction(async (tx) => {
        await tx.kv.set("ns", "before", "1");
        await assert.rejects(tx.relays.record({ ticketId: missing, kind: "bot", sourceRoom: room("r"), sourceSender: null, sourceEvent: event("s"), targetRoom: room("o"), targetEvent: event("t") }), isNotFound);
        await assert.rejects(tx.notes.markSynced(missing, 1), isNotFound);
        await assert.rejects(tx.tickets.setTitle(missing, "x"), isNotFound);
        await tx.kv.set("ns", "after", "1");
      });
      assert.deepEqual(new Map(await store.kv.list("ns")), new Map([["after", "1"], ["before", "1"]]));
    });

    test("using the store itself inside its transaction is an error at once, not a hang", { timeout: 10_000 }, async () => {
      const store = await h.fresh();
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.kv.set("ns", "inside", "1");
          await store.kv.set("ns", "outside", "1");
        }),
        isMisuse,
      );
      await assert.rejects(
        store.transaction(() => store.transaction(() => Promise.resolve())),
        isMisuse,
        "nor can a transaction start another on the store",
      );
      assert.equal(await store.kv.get("ns", "inside"), undefined, "the transaction rolled back");
      assert.equal(await store.kv.get("ns", "outside"), undefined);
      await store.transaction((tx) => tx.kv.set("ns", "after", "1"));
      assert.equal(await store.kv.get("ns", "after"), "1", "the store works on afterwards");
    });

    test("a transaction's tx cannot be used once it has ended", async () => {
      const store = await h.fresh();
      let kept: StoreScope | undefined;
      await store.transaction((tx) => {
        kept = tx;
        return Promise.resolve();
      });
      assert.ok(kept !== undefined);
      await assert.rejects(kept.kv.set("ns", "late", "1"), /this transaction has already ended/);
      assert.equal(await store.kv.get("ns", "late"), undefined);
    });

    test("a statement from elsewhere while a transaction is open is not part of it", async () => {
      const store = await h.fresh();
      const entered = signal();
      const release = signal();
      const transaction = store.transaction(async (tx) => {
        await tx.kv.set("ns", "inside", "1");
        entered.fire();
        await release.promise;
        throw new Error("roll back");
      });
      await entered.promise;
      // Issued from the test, outside the transaction's async context.
      const outside = store.kv.set("ns", "outside", "1");
      release.fire();
      await assert.rejects(transaction, /roll back/);
      await outside;
      assert.equal(await store.kv.get("ns", "outside"), "1", "kept");
      assert.equal(await store.kv.get("ns", "inside"), undefined, "rolled back");
    });

    test("transactions at once on one store all commit", async () => {
      const store = await h.fresh();
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.transaction(async (tx) => {
            const { ticket } = await tx.tickets.open({ customer: user(`u${i}`), customerRoom: room(`r${i}`), openedAt: at(i) });
            await tx.jobs.enqueue({ kind: "tracker.open", key: `open:${ticket.id}`, lane: `ticket:${ticket.id}`, payload: "{}", runAt: at(i) });
          }),
        ),
      );
      assert.equal(await store.tickets.count({}), 10);
      assert.deepEqual(new Map((await store.jobs.counts()).pending), new Map([["tracker.open", 10]]));
    });
  });
}
