import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EventId, RoomId, UserId } from "../../../src/core/ids.ts";
import type { ImportedTicket } from "../../../src/core/ports/storage.ts";
import type { Harness } from "./support.ts";

const goTicket = (over: Partial<ImportedTicket> = {}): ImportedTicket => ({
  customer: "@alice:a.example" as UserId,
  customerRoom: "!dm:a.example" as RoomId,
  threadRoot: "$root" as EventId,
  status: "open",
  title: "[OPEN] 2nd request from a.example (1st by Alice (@alice:a.example))",
  openedAt: new Date(1_000_000),
  lastActivityAt: new Date(2_000_000),
  closedAt: null,
  redmineIssueId: 42,
  customerOrdinal: 1,
  homeserverOrdinal: 2,
  ...over,
});

/** Tickets and counters brought over from the Go bot. */
export function importContract(h: Harness): void {
  describe("imports", () => {
    test("a ticket is inserted as it was, once per thread root", async () => {
      const store = await h.fresh();
      const first = await store.imports.insert(goTicket());
      assert.equal(first.kind, "inserted");
      assert.deepEqual(
        { ...first.ticket, id: 0 },
        {
          id: 0,
          customer: "@alice:a.example",
          homeserver: "a.example",
          customerRoom: "!dm:a.example",
          threadRoot: "$root",
          status: "open",
          title: "[OPEN] 2nd request from a.example (1st by Alice (@alice:a.example))",
          openedAt: new Date(1_000_000),
          closedAt: null,
          lastActivityAt: new Date(2_000_000),
          closeReason: null,
          redmineIssueId: 42,
          greetedAt: new Date(1_000_000),
        },
      );
      const again = await store.imports.insert(goTicket({ title: "changed" }));
      assert.equal(again.kind, "existing");
      assert.equal((await store.tickets.get(first.ticket.id))?.title, first.ticket.title, "a second import changes nothing");
      assert.equal((await store.tickets.findOpenByRoom("!dm:a.example" as RoomId))?.id, first.ticket.id);
    });

    test("closed tickets need no room; an open one in a room we already serve is a conflict", async () => {
      const store = await h.fresh();
      const closed = await store.imports.insert(goTicket({ threadRoot: "$a" as EventId, customerRoom: "" as RoomId, status: "closed", closedAt: new Date(3_000_000) }));
      const closed2 = await store.imports.insert(goTicket({ threadRoot: "$b" as EventId, customerRoom: "" as RoomId, status: "closed", closedAt: new Date(3_000_000) }));
      assert.deepEqual([closed.kind, closed2.kind], ["inserted", "inserted"]);
      assert.ok(closed.kind === "inserted");
      assert.equal(closed.ticket.closeReason, "imported");
      const ours = await store.tickets.open({ customer: "@bob:b.example" as UserId, customerRoom: "!busy:b.example" as RoomId, openedAt: new Date(5_000_000) });
      const conflict = await store.imports.insert(goTicket({ threadRoot: "$c" as EventId, customerRoom: "!busy:b.example" as RoomId }));
      assert.deepEqual(conflict, { kind: "conflict", existing: ours.ticket.id });
    });

    test("counters are raised, never lowered, and new requests count on from them", async () => {
      const store = await h.fresh();
      assert.equal(await store.imports.raiseCount("server", "a.example", 3), true);
      assert.equal(await store.imports.raiseCount("server", "a.example", 3), false);
      assert.equal(await store.imports.raiseCount("server", "a.example", 2), false);
      assert.equal(await store.imports.raiseCount("user", "@alice:a.example", 1), true);
      const next = await store.tickets.open({ customer: "@alice:a.example" as UserId, customerRoom: "!new:a.example" as RoomId, openedAt: new Date(9_000_000) });
      assert.deepEqual([next.customerOrdinal, next.homeserverOrdinal], [2, 4]);
      assert.equal(await store.imports.raiseCount("server", "a.example", 10), true);
      assert.deepEqual(await store.tickets.countRequest("@carol:a.example" as UserId), { customerOrdinal: 1, homeserverOrdinal: 11 });
    });
  });
}
