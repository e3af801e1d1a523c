import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseTicketId } from "../../../src/core/ids.ts";
import type { Store } from "../../../src/core/ports/storage.ts";
import type { Ticket } from "../../../src/core/ticket.ts";
import { at, event, ids, isNotFound, openTicket, room, user } from "./support.ts";
import type { Harness } from "./support.ts";

/** Tickets, request ordinals, listing and idle lookup. */
export function ticketContract(h: Harness): void {
  describe("tickets and request ordinals", () => {
    test("ordinals count per user and per homeserver across users", async () => {
      const store = await h.fresh();
      const alice = user("alice");
      const bob = user("bob");
      const carol = user("carol", "b.example");

      const first = await store.tickets.open({ customer: alice, customerRoom: room("alice1"), openedAt: at(0) });
      assert.equal(first.created, true);
      assert.equal(first.customerOrdinal, 1);
      assert.equal(first.homeserverOrdinal, 1);

      const second = await store.tickets.open({ customer: bob, customerRoom: room("bob1"), openedAt: at(1) });
      assert.deepEqual([second.customerOrdinal, second.homeserverOrdinal], [1, 2], "bob's 1st, a.example's 2nd");

      const third = await store.tickets.open({ customer: alice, customerRoom: room("alice2"), openedAt: at(2) });
      assert.deepEqual([third.customerOrdinal, third.homeserverOrdinal], [2, 3], "alice's 2nd, a.example's 3rd");

      const other = await store.tickets.open({ customer: carol, customerRoom: room("carol1"), openedAt: at(3) });
      assert.deepEqual([other.customerOrdinal, other.homeserverOrdinal], [1, 1], "another server counts apart");

      const all = [first, second, third, other].map((o) => o.ticket.id);
      assert.equal(new Set(all).size, 4, "distinct ticket ids");
    });

    test("a new ticket has the given fields and no thread yet", async () => {
      const store = await h.fresh();
      const { ticket } = await store.tickets.open({ customer: user("alice"), customerRoom: room("r"), openedAt: at(5) });
      assert.ok(Number.isSafeInteger(ticket.id) && ticket.id > 0, "a positive integer id");
      assert.equal(ticket.customer, user("alice"));
      assert.equal(ticket.homeserver, "a.example");
      assert.equal(ticket.customerRoom, room("r"));
      assert.equal(ticket.threadRoot, null);
      assert.equal(ticket.status, "open");
      assert.equal(ticket.title, null);
      assert.equal(ticket.openedAt.getTime(), at(5).getTime());
      assert.equal(ticket.lastActivityAt.getTime(), at(5).getTime());
      assert.equal(ticket.closedAt, null);
      assert.equal(ticket.closeReason, null);
      assert.equal(ticket.redmineIssueId, null);
      assert.equal(ticket.greetedAt, null, "a greeting is due");
      assert.deepEqual(await store.tickets.get(ticket.id), ticket, "get returns the same ticket");
    });

    test("one open ticket per customer room: a second open returns it uncounted", async () => {
      const store = await h.fresh();
      const alice = user("alice");
      const first = await store.tickets.open({ customer: alice, customerRoom: room("r"), openedAt: at(0) });
      const again = await store.tickets.open({ customer: alice, customerRoom: room("r"), openedAt: at(10) });
      assert.equal(again.created, false);
      assert.equal(again.ticket.id, first.ticket.id);
      assert.equal(again.ticket.openedAt.getTime(), at(0).getTime(), "the existing ticket, unchanged");
      assert.deepEqual([again.customerOrdinal, again.homeserverOrdinal], [1, 1], "the ordinals it was opened with");

      const next = await store.tickets.countRequest(alice);
      assert.deepEqual([next.customerOrdinal, next.homeserverOrdinal], [2, 2], "the repeat did not count");
      assert.equal(await store.tickets.count({ status: "all" }), 1);
    });

    test("many opens at once for one room make one ticket, counted once", async () => {
      const store = await h.fresh();
      const alice = user("alice");
      const input = { customer: alice, customerRoom: room("race"), openedAt: at(0) };
      const results = await Promise.all(Array.from({ length: 8 }, () => store.tickets.open(input)));
      assert.equal(new Set(results.map((r) => r.ticket.id)).size, 1, "one ticket");
      assert.equal(results.filter((r) => r.created).length, 1, "created once");
      for (const r of results) assert.deepEqual([r.customerOrdinal, r.homeserverOrdinal], [1, 1], "counted once");
      assert.deepEqual(await store.tickets.countRequest(alice), { customerOrdinal: 2, homeserverOrdinal: 2 });
    });

    test("opens at once in different rooms get distinct ordinals", async () => {
      const store = await h.fresh();
      const opened = await Promise.all(
        Array.from({ length: 12 }, (_, i) => store.tickets.open({ customer: user(`u${i}`), customerRoom: room(`busy${i}`), openedAt: at(i) })),
      );
      assert.deepEqual(
        opened.map((o) => o.homeserverOrdinal).sort((x, y) => x - y),
        Array.from({ length: 12 }, (_, i) => i + 1),
      );
    });

    test("after closing, the same room opens a new ticket", async () => {
      const store = await h.fresh();
      const alice = user("alice");
      const first = await openTicket(store, alice, room("r"), 0);
      await store.tickets.close(first.id, at(1), "operator");
      const second = await store.tickets.open({ customer: alice, customerRoom: room("r"), openedAt: at(2) });
      assert.equal(second.created, true);
      assert.notEqual(second.ticket.id, first.id);
      assert.deepEqual([second.customerOrdinal, second.homeserverOrdinal], [2, 2]);
      assert.equal((await store.tickets.findOpenByRoom(room("r")))?.id, second.ticket.id);
    });

    test("countRequest counts without opening a ticket", async () => {
      const store = await h.fresh();
      assert.deepEqual(await store.tickets.countRequest(user("dave")), { customerOrdinal: 1, homeserverOrdinal: 1 });
      assert.deepEqual(await store.tickets.countRequest(user("erin")), { customerOrdinal: 1, homeserverOrdinal: 2 });
      assert.deepEqual(await store.tickets.countRequest(user("dave")), { customerOrdinal: 2, homeserverOrdinal: 3 });
      assert.equal(await store.tickets.count({}), 0, "no ticket was opened");
      const opened = await store.tickets.open({ customer: user("dave"), customerRoom: room("d"), openedAt: at(0) });
      assert.deepEqual([opened.customerOrdinal, opened.homeserverOrdinal], [3, 4]);
    });

    test("closing returns the closed ticket once, then undefined", async () => {
      const store = await h.fresh();
      const ticket = await openTicket(store, user("alice"), room("r"), 0);
      const closed = await store.tickets.close(ticket.id, at(30), "operator");
      assert.ok(closed !== undefined);
      assert.equal(closed.id, ticket.id);
      assert.equal(closed.status, "closed");
      assert.equal(closed.closedAt?.getTime(), at(30).getTime());
      assert.equal(closed.closeReason, "operator");
      assert.deepEqual(await store.tickets.get(ticket.id), closed);

      assert.equal(await store.tickets.close(ticket.id, at(31), "auto"), undefined, "the second close");
      assert.equal((await store.tickets.get(ticket.id))?.closeReason, "operator", "the first close stands");
      assert.equal(await store.tickets.close(parseTicketId(999_999), at(31), "cli"), undefined, "an unknown ticket");
      assert.equal(await store.tickets.findOpenByRoom(room("r")), undefined);
    });

    test("lookups of things that do not exist give undefined", async () => {
      const store = await h.fresh();
      assert.equal(await store.tickets.get(parseTicketId(42)), undefined);
      assert.equal(await store.tickets.findOpenByRoom(room("nowhere")), undefined);
      assert.equal(await store.tickets.findByThread(event("nothread")), undefined);
      assert.equal(await store.tickets.findByIssue(7), undefined);
    });

    test("thread root, title and issue are stored and found", async () => {
      const store = await h.fresh();
      const ticket = await openTicket(store, user("alice"), room("r"), 0);
      await store.tickets.setThreadRoot(ticket.id, event("root1"));
      await store.tickets.setTitle(ticket.id, "[OPEN] 1st request from a.example — “quotes” ✓");
      await store.tickets.setIssue(ticket.id, 4242);

      const found = await store.tickets.findByThread(event("root1"));
      assert.equal(found?.id, ticket.id);
      assert.equal(found.threadRoot, event("root1"));
      assert.equal(found.title, "[OPEN] 1st request from a.example — “quotes” ✓");
      assert.equal(found.redmineIssueId, 4242);
      assert.equal((await store.tickets.findByIssue(4242))?.id, ticket.id);

      await store.tickets.setTitle(ticket.id, "renamed");
      assert.equal((await store.tickets.get(ticket.id))?.title, "renamed");

      await store.tickets.close(ticket.id, at(1), "operator");
      assert.equal((await store.tickets.findByThread(event("root1")))?.status, "closed", "found when closed too");
    });

    test("setGreeted records when the customer was greeted, on that ticket only", async () => {
      const store = await h.fresh();
      const greeted = await openTicket(store, user("alice"), room("r1"), 0);
      const other = await openTicket(store, user("bob"), room("r2"), 1);
      await store.tickets.setGreeted(greeted.id, at(2));
      assert.deepEqual((await store.tickets.get(greeted.id))?.greetedAt, at(2));
      assert.equal((await store.tickets.get(other.id))?.greetedAt, null);
      const closed = await store.tickets.close(greeted.id, at(3), "operator");
      assert.deepEqual(closed?.greetedAt, at(2), "kept when closed");
      const [listed] = await store.tickets.list({ customer: user("alice") });
      assert.deepEqual(listed?.greetedAt, at(2), "and listed with it");
    });

    test("findByThread and findByIssue return the newest of several", async () => {
      const store = await h.fresh();
      const older = await openTicket(store, user("alice"), room("r1"), 0);
      const newer = await openTicket(store, user("bob"), room("r2"), 5);
      for (const t of [older, newer]) {
        await store.tickets.setThreadRoot(t.id, event("shared"));
        await store.tickets.setIssue(t.id, 77);
      }
      assert.equal((await store.tickets.findByThread(event("shared")))?.id, newer.id);
      assert.equal((await store.tickets.findByIssue(77))?.id, newer.id);
    });

    test("updating a ticket that does not exist is NOT_FOUND", async () => {
      const store = await h.fresh();
      const missing = parseTicketId(31337);
      await assert.rejects(store.tickets.setThreadRoot(missing, event("x")), isNotFound);
      await assert.rejects(store.tickets.setTitle(missing, "x"), isNotFound);
      await assert.rejects(store.tickets.setIssue(missing, 1), isNotFound);
      await assert.rejects(store.tickets.setGreeted(missing, at(0)), (e: unknown) => isNotFound(e) && e instanceof Error && e.message === "no ticket #31337");
      await assert.rejects(store.tickets.touch(missing, at(0)), isNotFound);
    });
  });

  describe("listing and counting tickets", () => {
    /** Six tickets: alice at 0, 10, 20 (first two closed), bob at 30, 40 (first closed), carol at 40. */
    async function seeded(store: Store): Promise<Record<"a0" | "a1" | "a2" | "b0" | "b1" | "c0", Ticket>> {
      const alice = user("alice");
      const bob = user("bob");
      const carol = user("carol", "b.example");
      const a0 = await openTicket(store, alice, room("a0"), 0);
      const a1 = await openTicket(store, alice, room("a1"), 10);
      const a2 = await openTicket(store, alice, room("a2"), 20);
      const b0 = await openTicket(store, bob, room("b0"), 30);
      const b1 = await openTicket(store, bob, room("b1"), 40);
      const c0 = await openTicket(store, carol, room("c0"), 40); // same moment as b1: id breaks the tie
      await store.tickets.close(a0.id, at(50), "operator");
      await store.tickets.close(a1.id, at(51), "auto");
      await store.tickets.close(b0.id, at(52), "cli");
      return { a0, a1, a2, b0, b1, c0 };
    }

    test("newest first, with status, customer, since and limit filters", async () => {
      const store = await h.fresh();
      const { a0, a1, a2, b0, b1, c0 } = await seeded(store);
      const list = store.tickets.list.bind(store.tickets);

      assert.deepEqual(ids(await list({})), [c0.id, b1.id, b0.id, a2.id, a1.id, a0.id], "no filter: all");
      assert.deepEqual(ids(await list({ status: "all" })), [c0.id, b1.id, b0.id, a2.id, a1.id, a0.id]);
      assert.deepEqual(ids(await list({ status: "open" })), [c0.id, b1.id, a2.id]);
      assert.deepEqual(ids(await list({ status: "closed" })), [b0.id, a1.id, a0.id]);
      assert.deepEqual(ids(await list({ customer: user("alice") })), [a2.id, a1.id, a0.id]);
      assert.deepEqual(ids(await list({ customer: user("alice"), status: "closed" })), [a1.id, a0.id]);
      assert.deepEqual(ids(await list({ since: at(20) })), [c0.id, b1.id, b0.id, a2.id], "since is inclusive");
      assert.deepEqual(ids(await list({ since: at(20), status: "closed" })), [b0.id]);
      assert.deepEqual(ids(await list({ limit: 2 })), [c0.id, b1.id]);
      assert.deepEqual(ids(await list({ status: "closed", limit: 1 })), [b0.id]);
      assert.deepEqual(ids(await list({ limit: 0 })), []);
      assert.deepEqual(await list({ customer: user("nobody") }), []);

      const listed = await list({ customer: user("bob"), status: "closed" });
      assert.deepEqual(listed, [await store.tickets.get(b0.id)], "listed tickets are whole tickets");
    });

    test("count applies the same filters and ignores limit", async () => {
      const store = await h.fresh();
      await seeded(store);
      assert.equal(await store.tickets.count({}), 6);
      assert.equal(await store.tickets.count({ status: "all", limit: 1 }), 6);
      assert.equal(await store.tickets.count({ status: "open" }), 3);
      assert.equal(await store.tickets.count({ status: "closed" }), 3);
      assert.equal(await store.tickets.count({ customer: user("alice") }), 3);
      assert.equal(await store.tickets.count({ customer: user("alice"), status: "open" }), 1);
      assert.equal(await store.tickets.count({ since: at(30) }), 3);
      assert.equal(await store.tickets.count({ customer: user("nobody") }), 0);
    });

    test("stream gives what list gives, in the same order, for every filter", async () => {
      const store = await h.fresh();
      await seeded(store);
      const filters = [
        {},
        { status: "open" },
        { status: "closed" },
        { customer: user("alice") },
        { since: at(20), status: "closed" },
        { limit: 2 },
        { limit: 0 },
        { customer: user("nobody") },
      ] as const;
      for (const filter of filters) {
        assert.deepEqual(await collect(store.tickets.stream(filter)), await store.tickets.list(filter), JSON.stringify(filter));
      }
    });

    test("a long stream reads page after page in order; one stopped early frees the database", { timeout: 60_000 }, async () => {
      const store = await h.fresh();
      // More than a PostgreSQL cursor page (500 rows), written in one go.
      const total = 1234;
      await store.transaction(async (tx) => {
        for (let i = 0; i < total; i++) await tx.tickets.open({ customer: user(`u${i % 7}`), customerRoom: room(`long${i}`), openedAt: at(i) });
      });
      const all = await collect(store.tickets.stream({ status: "all" }));
      assert.equal(all.length, total);
      assert.deepEqual(ids(all), ids(await store.tickets.list({ status: "all" })));
      // More early stops than PostgreSQL pools connections: each must give its connection back.
      for (let round = 0; round < 12; round++) {
        const firstThree: Ticket[] = [];
        for await (const t of store.tickets.stream({})) {
          firstThree.push(t);
          if (firstThree.length === 3) break;
        }
        assert.deepEqual(ids(firstThree), ids(all.slice(0, 3)));
      }
      const later = await openTicket(store, user("late"), room("late"), total + 1);
      assert.equal((await first(store.tickets.stream({})))?.id, later.id, "the store reads and writes again");
    });

    test("inside a transaction, stream sees the transaction's writes, and stopping early leaves it usable", async () => {
      const store = await h.fresh();
      await seeded(store);
      const result = await store.transaction(async (tx) => {
        const opened = await tx.tickets.open({ customer: user("dave"), customerRoom: room("d0"), openedAt: at(60) });
        const newest = await first(tx.tickets.stream({ status: "open" }));
        await tx.tickets.close(opened.ticket.id, at(61), "operator");
        return { opened: opened.ticket.id, newest: newest?.id, open: ids(await collect(tx.tickets.stream({ status: "open" }))) };
      });
      assert.equal(result.newest, result.opened);
      assert.equal(result.open.includes(result.opened), false, "closed inside the same transaction");
      assert.equal((await store.tickets.get(result.opened))?.status, "closed", "and committed");
    });
  });

  describe("activity and idle tickets", () => {
    test("open tickets idle since before the cutoff, oldest first, limited", async () => {
      const store = await h.fresh();
      const quiet = await openTicket(store, user("a"), room("quiet"), 0);
      const busy = await openTicket(store, user("b"), room("busy"), 1);
      const late = await openTicket(store, user("c"), room("late"), 2);
      const closed = await openTicket(store, user("d"), room("closed"), 0);
      await store.tickets.close(closed.id, at(3), "operator");
      await store.tickets.touch(busy.id, at(100));

      assert.deepEqual(ids(await store.tickets.listIdle(at(50), 10)), [quiet.id, late.id]);
      assert.deepEqual(ids(await store.tickets.listIdle(at(50), 1)), [quiet.id]);
      assert.deepEqual(ids(await store.tickets.listIdle(at(2), 10)), [quiet.id], "strictly before the cutoff");
      assert.deepEqual(ids(await store.tickets.listIdle(at(200), 10)), [quiet.id, late.id, busy.id]);
      assert.equal((await store.tickets.get(busy.id))?.lastActivityAt.getTime(), at(100).getTime());
    });

    test("touch never moves activity backwards", async () => {
      const store = await h.fresh();
      const ticket = await openTicket(store, user("a"), room("r"), 0);
      await store.tickets.touch(ticket.id, at(60));
      await store.tickets.touch(ticket.id, at(30));
      assert.equal((await store.tickets.get(ticket.id))?.lastActivityAt.getTime(), at(60).getTime());
    });
  });
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** The first item, stopping the iteration there. */
async function first<T>(items: AsyncIterable<T>): Promise<T | undefined> {
  for await (const item of items) return item;
  return undefined;
}
