import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { openStore } from "../../src/adapters/storage/open-store.ts";
import type { EventId, RoomId, UserId } from "../../src/core/ids.ts";
import type { Store } from "../../src/core/ports.ts";
import { importGoState, type GoAccountData, type GoImportInput, type GoThreadRoot } from "../../src/core/usecases/import-go.ts";

async function freshStore(t: { after(fn: () => Promise<void>): void }): Promise<Store> {
  const dir = await mkdtemp(path.join(tmpdir(), "honoroit-import-"));
  const store = await openStore({ dialect: "sqlite", dsn: path.join(dir, "honoroit.db") });
  await store.migrate();
  t.after(() => store.close());
  return store;
}

const root = (id: string, customer: string, title: string, at: number, edited = false): GoThreadRoot => ({
  eventId: id as EventId,
  customer: customer as UserId,
  homeserver: customer.slice(customer.indexOf(":") + 1),
  title,
  firstTitle: edited ? title.replace("[DONE] ", "[OPEN]") : title,
  edited,
  openedAt: new Date(at),
  lastActivityAt: new Date(at + 1000),
  closedAt: edited ? new Date(at + 1000) : null,
  forwarded: [],
});

const account = (over: Partial<GoAccountData> = {}): GoAccountData => ({
  openThreads: new Map(),
  issues: new Map(),
  notes: new Map(),
  options: new Map(),
  skipped: [],
  ...over,
});

const input = (over: Partial<GoImportInput>): GoImportInput => ({
  account: account(),
  room: { roots: [], unreadable: 0, events: 0 },
  operatorsRoom: "!ops:a.example" as RoomId,
  lookupCustomer: () => Promise.resolve(undefined),
  dryRun: false,
  ...over,
});

describe("importing the Go bot's state", () => {
  it("a counted request raises the counters but is no ticket; ordinals follow the order of the roots", async (t) => {
    const store = await freshStore(t);
    const summary = await importGoState(store, input({
      account: account({ openThreads: new Map([["$two" as EventId, "!dm:a.example" as RoomId]]) }),
      room: {
        roots: [
          root("$two", "@alice:a.example", "[OPEN] 2nd request from a.example (2nd by Alice)", 2000),
          root("$one", "@alice:a.example", "[DONE]  1st request from a.example (1st by Alice)", 1000, true),
          root("$count", "@bob:b.example", "[DONE] 1st request from b.example (1st by Bob)", 3000),
        ],
        unreadable: 0,
        events: 7,
      },
    }));
    assert.deepEqual([summary.openTickets.imported, summary.closedTickets.imported, summary.counters.imported], [1, 1, 4]);
    const tickets = await store.tickets.list({ status: "all" });
    assert.deepEqual(tickets.map((x) => [x.threadRoot, x.status]), [["$two", "open"], ["$one", "closed"]]);
    const next = await store.tickets.countRequest("@bob:b.example" as UserId);
    assert.deepEqual(next, { customerOrdinal: 2, homeserverOrdinal: 2 });
  });

  it("an open request whose root cannot be read takes its customer from the room", async (t) => {
    const store = await freshStore(t);
    const asked: string[] = [];
    const summary = await importGoState(store, input({
      account: account({ openThreads: new Map([["$secret" as EventId, "!dm:a.example" as RoomId], ["$empty" as EventId, "!gone:a.example" as RoomId]]) }),
      room: { roots: [], unreadable: 12, events: 12 },
      lookupCustomer: (room) => {
        asked.push(room);
        return Promise.resolve(room === "!dm:a.example" ? ("@alice:a.example" as UserId) : undefined);
      },
    }));
    assert.deepEqual(asked.sort(), ["!dm:a.example", "!gone:a.example"]);
    assert.equal(summary.openTickets.imported, 1);
    assert.deepEqual(summary.skipped.map((s) => s.reason), ["its thread root is unreadable and no customer is left in its room"]);
    assert.equal((await store.tickets.findOpenByRoom("!dm:a.example" as RoomId))?.customer, "@alice:a.example");
  });

  it("a dry run counts what it would do and writes nothing", async (t) => {
    const store = await freshStore(t);
    const summary = await importGoState(store, input({
      account: account({ options: new Map([["silent", "true"], ["text.greetings", ""], ["no.such", "x"]]) }),
      room: { roots: [root("$a", "@alice:a.example", "[DONE]  x", 1000, true)], unreadable: 0, events: 2 },
      syncPosition: "s123",
      dryRun: true,
    }));
    assert.deepEqual([summary.closedTickets.imported, summary.options.imported, summary.syncPosition], [1, 1, "saved"]);
    assert.deepEqual(summary.skipped, [{ what: "option no.such", reason: "not an option here" }]);
    assert.deepEqual(await store.tickets.list({ status: "all" }), []);
    assert.equal((await store.options.all()).size, 0);
    assert.equal(await store.sync.getToken(), undefined);
  });
});
