import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { HonoroitError } from "../../src/core/errors.ts";
import { parseEventId, parseRoomId, parseTicketId, parseUserId } from "../../src/core/ids.ts";
import type { EventId, RoomId, TicketId, UserId } from "../../src/core/ids.ts";
import type { RelayRecord, Store } from "../../src/core/ports.ts";
import type { Ticket } from "../../src/core/ticket.ts";
import { MIGRATIONS } from "../../src/adapters/storage/migrations.ts";

const T0 = Date.UTC(2024, 0, 15, 9, 0, 0);
/** A moment `minutes` after the suite's fixed epoch. */
const at = (minutes: number): Date => new Date(T0 + minutes * 60_000);

const user = (name: string, server = "a.example"): UserId => parseUserId(`@${name}:${server}`);
const room = (name: string): RoomId => parseRoomId(`!${name}:a.example`);
const event = (name: string): EventId => parseEventId(`$${name}`);

const ids = (tickets: readonly Ticket[]): TicketId[] => tickets.map((t) => t.id);

function isNotFound(e: unknown): boolean {
  return e instanceof HonoroitError && e.code === "NOT_FOUND";
}

/**
 * The behaviour every `Store` must have, run against each implementation. `makeStore` gives a
 * fresh, empty, unmigrated store; `cleanup` releases it (close, delete files).
 */
export function storeContract(
  name: string,
  makeStore: () => Promise<Store>,
  cleanup: (store: Store) => Promise<void> = (store) => store.close(),
): void {
  describe(`${name} store contract`, () => {
    const opened: Store[] = [];
    afterEach(async () => {
      for (const store of opened.splice(0)) await cleanup(store);
    });

    async function unmigrated(): Promise<Store> {
      const store = await makeStore();
      opened.push(store);
      return store;
    }

    async function fresh(): Promise<Store> {
      const store = await unmigrated();
      await store.migrate();
      return store;
    }

    /** Opens a ticket and asserts it was created. */
    async function open(store: Store, customer: UserId, customerRoom: RoomId, minutes: number): Promise<Ticket> {
      const result = await store.openTicket({ customer, customerRoom, openedAt: at(minutes) });
      assert.equal(result.created, true, `a new ticket for ${customerRoom}`);
      return result.ticket;
    }

    describe("migrations", () => {
      test("a new store has every migration pending; migrate applies all, then nothing", async () => {
        const store = await unmigrated();
        const before = await store.migrationStatus();
        assert.deepEqual(
          before.map((m) => [m.version, m.name, m.appliedAt]),
          MIGRATIONS.map((m) => [m.version, m.name, null]),
        );

        const applied = await store.migrate();
        assert.deepEqual(
          applied.map((m) => m.version),
          MIGRATIONS.map((m) => m.version),
        );
        for (const m of applied) assert.ok(m.appliedAt instanceof Date, `migration ${m.version} has a date`);

        assert.deepEqual(await store.migrate(), [], "the second migrate is a no-op");

        const after = await store.migrationStatus();
        assert.deepEqual(
          after.map((m) => m.version),
          MIGRATIONS.map((m) => m.version),
        );
        for (const m of after) assert.ok(m.appliedAt instanceof Date, `migration ${m.version} shows as applied`);
        const versions = after.map((m) => m.version);
        assert.deepEqual(versions, [...versions].sort((a, b) => a - b), "in version order");
      });
    });

    describe("tickets and request ordinals", () => {
      test("ordinals count per user and per homeserver across users", async () => {
        const store = await fresh();
        const alice = user("alice");
        const bob = user("bob");
        const carol = user("carol", "b.example");

        const first = await store.openTicket({ customer: alice, customerRoom: room("alice1"), openedAt: at(0) });
        assert.equal(first.created, true);
        assert.equal(first.customerOrdinal, 1);
        assert.equal(first.homeserverOrdinal, 1);

        const second = await store.openTicket({ customer: bob, customerRoom: room("bob1"), openedAt: at(1) });
        assert.deepEqual([second.customerOrdinal, second.homeserverOrdinal], [1, 2], "bob's 1st, a.example's 2nd");

        const third = await store.openTicket({ customer: alice, customerRoom: room("alice2"), openedAt: at(2) });
        assert.deepEqual([third.customerOrdinal, third.homeserverOrdinal], [2, 3], "alice's 2nd, a.example's 3rd");

        const other = await store.openTicket({ customer: carol, customerRoom: room("carol1"), openedAt: at(3) });
        assert.deepEqual([other.customerOrdinal, other.homeserverOrdinal], [1, 1], "another server counts apart");

        const all = [first, second, third, other].map((o) => o.ticket.id);
        assert.equal(new Set(all).size, 4, "distinct ticket ids");
      });

      test("a new ticket has the given fields and no thread yet", async () => {
        const store = await fresh();
        const { ticket } = await store.openTicket({ customer: user("alice"), customerRoom: room("r"), openedAt: at(5) });
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
        assert.deepEqual(await store.getTicket(ticket.id), ticket, "getTicket returns the same ticket");
      });

      test("one open ticket per customer room: a second open returns it uncounted", async () => {
        const store = await fresh();
        const alice = user("alice");
        const first = await store.openTicket({ customer: alice, customerRoom: room("r"), openedAt: at(0) });
        const again = await store.openTicket({ customer: alice, customerRoom: room("r"), openedAt: at(10) });
        assert.equal(again.created, false);
        assert.equal(again.ticket.id, first.ticket.id);
        assert.equal(again.ticket.openedAt.getTime(), at(0).getTime(), "the existing ticket, unchanged");
        assert.deepEqual([again.customerOrdinal, again.homeserverOrdinal], [1, 1], "the ordinals it was opened with");

        const next = await store.countRequest(alice);
        assert.deepEqual([next.customerOrdinal, next.homeserverOrdinal], [2, 2], "the repeat did not count");
        assert.equal(await store.countTickets({ status: "all" }), 1);
      });

      test("after closing, the same room opens a new ticket", async () => {
        const store = await fresh();
        const alice = user("alice");
        const first = await open(store, alice, room("r"), 0);
        await store.closeTicket(first.id, at(1), "operator");
        const second = await store.openTicket({ customer: alice, customerRoom: room("r"), openedAt: at(2) });
        assert.equal(second.created, true);
        assert.notEqual(second.ticket.id, first.id);
        assert.deepEqual([second.customerOrdinal, second.homeserverOrdinal], [2, 2]);
        assert.equal((await store.findOpenByRoom(room("r")))?.id, second.ticket.id);
      });

      test("countRequest counts without opening a ticket", async () => {
        const store = await fresh();
        assert.deepEqual(await store.countRequest(user("dave")), { customerOrdinal: 1, homeserverOrdinal: 1 });
        assert.deepEqual(await store.countRequest(user("erin")), { customerOrdinal: 1, homeserverOrdinal: 2 });
        assert.deepEqual(await store.countRequest(user("dave")), { customerOrdinal: 2, homeserverOrdinal: 3 });
        assert.equal(await store.countTickets({}), 0, "no ticket was opened");
        const opened = await store.openTicket({ customer: user("dave"), customerRoom: room("d"), openedAt: at(0) });
        assert.deepEqual([opened.customerOrdinal, opened.homeserverOrdinal], [3, 4]);
      });

      test("closing returns the closed ticket once, then undefined", async () => {
        const store = await fresh();
        const ticket = await open(store, user("alice"), room("r"), 0);
        const closed = await store.closeTicket(ticket.id, at(30), "operator");
        assert.ok(closed !== undefined);
        assert.equal(closed.id, ticket.id);
        assert.equal(closed.status, "closed");
        assert.equal(closed.closedAt?.getTime(), at(30).getTime());
        assert.equal(closed.closeReason, "operator");
        assert.deepEqual(await store.getTicket(ticket.id), closed);

        assert.equal(await store.closeTicket(ticket.id, at(31), "auto"), undefined, "the second close");
        assert.equal((await store.getTicket(ticket.id))?.closeReason, "operator", "the first close stands");
        assert.equal(await store.closeTicket(parseTicketId(999_999), at(31), "cli"), undefined, "an unknown ticket");
        assert.equal(await store.findOpenByRoom(room("r")), undefined);
      });

      test("lookups of things that do not exist give undefined", async () => {
        const store = await fresh();
        assert.equal(await store.getTicket(parseTicketId(42)), undefined);
        assert.equal(await store.findOpenByRoom(room("nowhere")), undefined);
        assert.equal(await store.findByThread(event("nothread")), undefined);
        assert.equal(await store.findByRedmineIssue(7), undefined);
      });

      test("thread root, title and Redmine issue are stored and found", async () => {
        const store = await fresh();
        const ticket = await open(store, user("alice"), room("r"), 0);
        await store.setThreadRoot(ticket.id, event("root1"));
        await store.setTitle(ticket.id, "[OPEN] 1st request from a.example — “quotes” ✓");
        await store.setRedmineIssue(ticket.id, 4242);

        const found = await store.findByThread(event("root1"));
        assert.equal(found?.id, ticket.id);
        assert.equal(found.threadRoot, event("root1"));
        assert.equal(found.title, "[OPEN] 1st request from a.example — “quotes” ✓");
        assert.equal(found.redmineIssueId, 4242);
        assert.equal((await store.findByRedmineIssue(4242))?.id, ticket.id);

        await store.setTitle(ticket.id, "renamed");
        assert.equal((await store.getTicket(ticket.id))?.title, "renamed");

        await store.closeTicket(ticket.id, at(1), "operator");
        assert.equal((await store.findByThread(event("root1")))?.status, "closed", "found when closed too");
      });

      test("findByThread and findByRedmineIssue return the newest of several", async () => {
        const store = await fresh();
        const older = await open(store, user("alice"), room("r1"), 0);
        const newer = await open(store, user("bob"), room("r2"), 5);
        for (const t of [older, newer]) {
          await store.setThreadRoot(t.id, event("shared"));
          await store.setRedmineIssue(t.id, 77);
        }
        assert.equal((await store.findByThread(event("shared")))?.id, newer.id);
        assert.equal((await store.findByRedmineIssue(77))?.id, newer.id);
      });

      test("updating a ticket that does not exist is NOT_FOUND", async () => {
        const store = await fresh();
        const missing = parseTicketId(31337);
        await assert.rejects(store.setThreadRoot(missing, event("x")), isNotFound);
        await assert.rejects(store.setTitle(missing, "x"), isNotFound);
        await assert.rejects(store.setRedmineIssue(missing, 1), isNotFound);
        await assert.rejects(store.touch(missing, at(0)), isNotFound);
      });
    });

    describe("listing and counting tickets", () => {
      /** Six tickets: alice at 0, 10, 20 (first two closed), bob at 30, 40 (first closed), carol at 40. */
      async function seeded(store: Store): Promise<Record<"a0" | "a1" | "a2" | "b0" | "b1" | "c0", Ticket>> {
        const alice = user("alice");
        const bob = user("bob");
        const carol = user("carol", "b.example");
        const a0 = await open(store, alice, room("a0"), 0);
        const a1 = await open(store, alice, room("a1"), 10);
        const a2 = await open(store, alice, room("a2"), 20);
        const b0 = await open(store, bob, room("b0"), 30);
        const b1 = await open(store, bob, room("b1"), 40);
        const c0 = await open(store, carol, room("c0"), 40); // same moment as b1: id breaks the tie
        await store.closeTicket(a0.id, at(50), "operator");
        await store.closeTicket(a1.id, at(51), "auto");
        await store.closeTicket(b0.id, at(52), "cli");
        return { a0, a1, a2, b0, b1, c0 };
      }
      test("newest first, with status, customer, since and limit filters", async () => {
        const store = await fresh();
        const { a0, a1, a2, b0, b1, c0 } = await seeded(store);

        assert.deepEqual(ids(await store.listTickets({})), [c0.id, b1.id, b0.id, a2.id, a1.id, a0.id], "no filter: all");
        assert.deepEqual(ids(await store.listTickets({ status: "all" })), [c0.id, b1.id, b0.id, a2.id, a1.id, a0.id]);
        assert.deepEqual(ids(await store.listTickets({ status: "open" })), [c0.id, b1.id, a2.id]);
        assert.deepEqual(ids(await store.listTickets({ status: "closed" })), [b0.id, a1.id, a0.id]);
        assert.deepEqual(ids(await store.listTickets({ customer: user("alice") })), [a2.id, a1.id, a0.id]);
        assert.deepEqual(ids(await store.listTickets({ customer: user("alice"), status: "closed" })), [a1.id, a0.id]);
        assert.deepEqual(ids(await store.listTickets({ since: at(20) })), [c0.id, b1.id, b0.id, a2.id], "since is inclusive");
        assert.deepEqual(ids(await store.listTickets({ since: at(20), status: "closed" })), [b0.id]);
        assert.deepEqual(ids(await store.listTickets({ limit: 2 })), [c0.id, b1.id]);
        assert.deepEqual(ids(await store.listTickets({ status: "closed", limit: 1 })), [b0.id]);
        assert.deepEqual(ids(await store.listTickets({ limit: 0 })), []);
        assert.deepEqual(await store.listTickets({ customer: user("nobody") }), []);

        const listed = await store.listTickets({ customer: user("bob"), status: "closed" });
        assert.deepEqual(listed, [await store.getTicket(b0.id)], "listed tickets are whole tickets");
      });

      test("countTickets applies the same filters and ignores limit", async () => {
        const store = await fresh();
        await seeded(store);
        assert.equal(await store.countTickets({}), 6);
        assert.equal(await store.countTickets({ status: "all", limit: 1 }), 6);
        assert.equal(await store.countTickets({ status: "open" }), 3);
        assert.equal(await store.countTickets({ status: "closed" }), 3);
        assert.equal(await store.countTickets({ customer: user("alice") }), 3);
        assert.equal(await store.countTickets({ customer: user("alice"), status: "open" }), 1);
        assert.equal(await store.countTickets({ since: at(30) }), 3);
        assert.equal(await store.countTickets({ customer: user("nobody") }), 0);
      });
    });

    describe("activity and idle tickets", () => {
      test("open tickets idle since before the cutoff, oldest first, limited", async () => {
        const store = await fresh();
        const quiet = await open(store, user("a"), room("quiet"), 0);
        const busy = await open(store, user("b"), room("busy"), 1);
        const late = await open(store, user("c"), room("late"), 2);
        const closed = await open(store, user("d"), room("closed"), 0);
        await store.closeTicket(closed.id, at(3), "operator");
        await store.touch(busy.id, at(100));

        assert.deepEqual(ids(await store.listIdleTickets(at(50), 10)), [quiet.id, late.id]);
        assert.deepEqual(ids(await store.listIdleTickets(at(50), 1)), [quiet.id]);
        assert.deepEqual(ids(await store.listIdleTickets(at(2), 10)), [quiet.id], "strictly before the cutoff");
        assert.deepEqual(ids(await store.listIdleTickets(at(200), 10)), [quiet.id, late.id, busy.id]);
        assert.equal((await store.getTicket(busy.id))?.lastActivityAt.getTime(), at(100).getTime());
      });

      test("touch never moves activity backwards", async () => {
        const store = await fresh();
        const ticket = await open(store, user("a"), room("r"), 0);
        await store.touch(ticket.id, at(60));
        await store.touch(ticket.id, at(30));
        assert.equal((await store.getTicket(ticket.id))?.lastActivityAt.getTime(), at(60).getTime());
      });
    });

    describe("relays", () => {
      test("found from either side; the first record for a source wins", async () => {
        const store = await fresh();
        const ticket = await open(store, user("alice"), room("r"), 0);
        const record: RelayRecord = {
          ticketId: ticket.id,
          kind: "customer-to-thread",
          sourceRoom: room("r"),
          sourceEvent: event("from-customer"),
          targetRoom: room("operators"),
          targetEvent: event("in-thread"),
        };
        await store.recordRelay(record);
        assert.deepEqual(await store.findRelayBySource(event("from-customer")), record);
        assert.deepEqual(await store.findRelayByTarget(event("in-thread")), record);

        await store.recordRelay({ ...record, targetEvent: event("second-copy"), kind: "bot" });
        assert.deepEqual(await store.findRelayBySource(event("from-customer")), record, "the first record is kept");
        assert.equal(await store.findRelayByTarget(event("second-copy")), undefined);

        const back: RelayRecord = {
          ticketId: ticket.id,
          kind: "operator-to-customer",
          sourceRoom: room("operators"),
          sourceEvent: event("from-operator"),
          targetRoom: room("r"),
          targetEvent: event("to-customer"),
        };
        await store.recordRelay(back);
        assert.deepEqual(await store.findRelayByTarget(event("to-customer")), back);
        assert.equal(await store.findRelayBySource(event("unknown")), undefined);
        assert.equal(await store.findRelayByTarget(event("unknown")), undefined);
      });

      test("a relay for a ticket that does not exist is NOT_FOUND", async () => {
        const store = await fresh();
        await assert.rejects(
          store.recordRelay({
            ticketId: parseTicketId(404),
            kind: "bot",
            sourceRoom: room("r"),
            sourceEvent: event("s"),
            targetRoom: room("o"),
            targetEvent: event("t"),
          }),
          isNotFound,
        );
      });
    });

    describe("event journal and sync state", () => {
      test("an event is handled once marked; marking twice is fine", async () => {
        const store = await fresh();
        assert.equal(await store.isHandled(event("e1")), false);
        await store.markHandled(event("e1"), at(0));
        await store.markHandled(event("e1"), at(1));
        assert.equal(await store.isHandled(event("e1")), true);
        assert.equal(await store.isHandled(event("e2")), false);
      });

      test("pruneHandled forgets events handled before the cutoff and counts them", async () => {
        const store = await fresh();
        await store.markHandled(event("old1"), at(0));
        await store.markHandled(event("old2"), at(5));
        await store.markHandled(event("edge"), at(10));
        await store.markHandled(event("new"), at(20));
        // Marking again keeps the first time, so this stays old.
        await store.markHandled(event("old1"), at(30));

        assert.equal(await store.pruneHandled(at(10)), 2, "strictly before the cutoff");
        assert.equal(await store.isHandled(event("old1")), false);
        assert.equal(await store.isHandled(event("old2")), false);
        assert.equal(await store.isHandled(event("edge")), true, "at the cutoff is kept");
        assert.equal(await store.isHandled(event("new")), true);
        assert.equal(await store.pruneHandled(at(10)), 0, "nothing left to prune");

        assert.equal(await store.pruneHandled(at(60)), 2);
        assert.equal(await store.isHandled(event("edge")), false);
        assert.equal(await store.isHandled(event("new")), false);
        await store.markHandled(event("old1"), at(61));
        assert.equal(await store.isHandled(event("old1")), true, "a forgotten event can be marked again");
      });

      test("the send ledger keeps the first event per key", async () => {
        const store = await fresh();
        assert.equal(await store.sentEvent("greet:1"), undefined);
        await store.recordSent("greet:1", event("first"), at(0));
        await store.recordSent("greet:1", event("second"), at(1));
        await store.recordSent("root:1", event("root"), at(2));
        assert.equal(await store.sentEvent("greet:1"), event("first"), "first record wins");
        assert.equal(await store.sentEvent("root:1"), event("root"));
        assert.equal(await store.sentEvent("greet:2"), undefined);
        assert.equal(await store.kvGet("sent", "greet:1"), undefined, "not kept in the key-value area");
      });

      test("pruneSent forgets messages sent before the cutoff and counts them", async () => {
        const store = await fresh();
        await store.recordSent("a", event("a"), at(0));
        await store.recordSent("b", event("b"), at(5));
        await store.recordSent("c", event("c"), at(10));
        await store.recordSent("d", event("d"), at(20));
        // A second record for an old key neither replaces it nor makes it recent.
        await store.recordSent("a", event("a2"), at(30));

        assert.equal(await store.pruneSent(at(10)), 2, "strictly before the cutoff");
        assert.deepEqual(
          await Promise.all(["a", "b", "c", "d"].map((k) => store.sentEvent(k))),
          [undefined, undefined, event("c"), event("d")],
        );
        assert.equal(await store.pruneSent(at(10)), 0, "nothing left to prune");

        await store.recordSent("a", event("again"), at(40));
        assert.equal(await store.sentEvent("a"), event("again"), "a forgotten key can be recorded again");
        assert.equal(await store.pruneSent(at(40)), 2, "c and d");
        assert.equal(await store.sentEvent("a"), event("again"));
      });

      test("the sync token round-trips and is replaced", async () => {
        const store = await fresh();
        assert.equal(await store.getSyncToken(), undefined);
        await store.setSyncToken("s72594_4483_1934");
        assert.equal(await store.getSyncToken(), "s72594_4483_1934");
        await store.setSyncToken("s72595_4484_1935");
        assert.equal(await store.getSyncToken(), "s72595_4484_1935");
      });
    });

    describe("options and key-value areas", () => {
      test("options are set, overwritten and deleted", async () => {
        const store = await fresh();
        assert.equal((await store.getOptions()).size, 0);
        await store.setOption("allow.users", "@*:a.example");
        await store.setOption("text.greetings", "Hello!\nWe will answer soon.");
        await store.setOption("allow.users", "@*:b.example");
        assert.deepEqual(
          new Map(await store.getOptions()),
          new Map([
            ["allow.users", "@*:b.example"],
            ["text.greetings", "Hello!\nWe will answer soon."],
          ]),
        );
        await store.deleteOption("allow.users");
        await store.deleteOption("never.set");
        assert.deepEqual(new Map(await store.getOptions()), new Map([["text.greetings", "Hello!\nWe will answer soon."]]));
        await store.setOption("silent", "");
        assert.equal((await store.getOptions()).get("silent"), "", "an empty value is a value");
      });

      test("namespaces keep keys apart", async () => {
        const store = await fresh();
        await store.kvSet("crypto", "device", "ABCDEF");
        await store.kvSet("import", "device", "other");
        await store.kvSet("crypto", "olm", "{\"k\":1}");
        assert.equal(await store.kvGet("crypto", "device"), "ABCDEF");
        assert.equal(await store.kvGet("import", "device"), "other");
        assert.equal(await store.kvGet("crypto", "missing"), undefined);
        assert.equal(await store.kvGet("nothing", "device"), undefined);

        await store.kvSet("crypto", "device", "GHIJKL");
        assert.deepEqual(
          new Map(await store.kvList("crypto")),
          new Map([
            ["device", "GHIJKL"],
            ["olm", "{\"k\":1}"],
          ]),
        );
        await store.kvDelete("crypto", "device");
        await store.kvDelete("crypto", "never");
        assert.deepEqual(new Map(await store.kvList("crypto")), new Map([["olm", "{\"k\":1}"]]));
        assert.deepEqual(new Map(await store.kvList("import")), new Map([["device", "other"]]));
        assert.equal((await store.kvList("empty")).size, 0);
      });
    });

    describe("Redmine sync state", () => {
      test("notes are synced per ticket, once", async () => {
        const store = await fresh();
        const one = await open(store, user("a"), room("r1"), 0);
        const two = await open(store, user("b"), room("r2"), 0);
        assert.equal(await store.isNoteSynced(one.id, 10), false);
        await store.markNoteSynced(one.id, 10);
        await store.markNoteSynced(one.id, 10);
        assert.equal(await store.isNoteSynced(one.id, 10), true);
        assert.equal(await store.isNoteSynced(two.id, 10), false, "per ticket");
        assert.equal(await store.isNoteSynced(one.id, 11), false);
        await assert.rejects(store.markNoteSynced(parseTicketId(404), 1), isNotFound);
      });

      test("the outbox gives due items oldest first, retries later, and forgets completed ones", async () => {
        const store = await fresh();
        const ticket = await open(store, user("a"), room("r"), 0);
        const first = await store.enqueueOutbox(ticket.id, "create-issue", "{\"subject\":\"x\"}", at(1));
        const second = await store.enqueueOutbox(ticket.id, "note", "{\"notes\":\"hi\"}", at(2));
        const future = await store.enqueueOutbox(ticket.id, "note", "later", at(60));
        assert.ok(first < second && second < future, "ids increase");

        assert.deepEqual(await store.dueOutbox(at(0), 10), [], "nothing due before its time");
        const due = await store.dueOutbox(at(5), 10);
        assert.deepEqual(due, [
          { id: first, ticketId: ticket.id, kind: "create-issue", payload: "{\"subject\":\"x\"}", attempts: 0, notBefore: at(1), lastError: null },
          { id: second, ticketId: ticket.id, kind: "note", payload: "{\"notes\":\"hi\"}", attempts: 0, notBefore: at(2), lastError: null },
        ]);
        assert.deepEqual(
          (await store.dueOutbox(at(5), 1)).map((i) => i.id),
          [first],
          "limited",
        );

        await store.retryOutboxLater(first, at(20), "503 Service Unavailable");
        assert.deepEqual(
          (await store.dueOutbox(at(5), 10)).map((i) => i.id),
          [second],
          "a retried item waits",
        );
        await store.retryOutboxLater(first, at(30), "timeout");
        const retried = (await store.dueOutbox(at(30), 10)).find((i) => i.id === first);
        assert.equal(retried?.attempts, 2);
        assert.equal(retried.lastError, "timeout");
        assert.equal(retried.notBefore.getTime(), at(30).getTime());

        await store.completeOutbox(second);
        await store.completeOutbox(second);
        assert.deepEqual(
          (await store.dueOutbox(at(100), 10)).map((i) => i.id),
          [first, future],
        );
        await assert.rejects(store.enqueueOutbox(parseTicketId(404), "note", "", at(0)), isNotFound);
      });
    });
  });
}
