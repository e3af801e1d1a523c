// What the core promises the engine: failures sorted by cause (wait, or tell the sender),
// one commit per event, effects that happen once across crashes, and ticket events queued
// as durable jobs in the transaction of their cause.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { failureCause, HonoroitError, isHonoroitError, RefusedError } from "../../src/core/errors.ts";
import type { RoomId, UserId } from "../../src/core/ids.ts";
import type { Store, StoreScope } from "../../src/core/ports.ts";
import { closeTicket } from "../../src/core/usecases/close-ticket.ts";
import { makeHelpdesk, OPS } from "../support/helpdesk-fixture.ts";

const ALICE = "@alice:example.com" as UserId;
const OPERATOR = "@op:example.com" as UserId;
const ROOM_A = "!alice-dm:example.com" as RoomId;

const forbiddenIn = (room: RoomId): RefusedError => new RefusedError("M_FORBIDDEN: not in room", { errcode: "M_FORBIDDEN", status: 403, room, notInRoom: true });

/** Throws on the n-th transaction commit (a crash or a database failure at that moment). */
function failingCommit(store: Store, failOn: number, error: Error): Store {
  let commits = 0;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "transaction") {
        return async <T>(work: (tx: StoreScope) => Promise<T>): Promise<T> => {
          commits += 1;
          if (commits === failOn) throw error;
          return target.transaction(work);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
}

describe("engine: failures sorted by cause", () => {
  it("an event waits while the bot cannot post in the operators room: nothing is recorded, nobody is told; then it is relayed once", async () => {
    const h = await makeHelpdesk();
    h.messenger.refusedRooms.add(OPS);
    const event = h.message(ROOM_A, ALICE, "hello");
    await assert.rejects(h.helpdesk.handle(event), (e: unknown) => {
      assert.ok(isHonoroitError(e), String(e));
      assert.equal(e.code, "NOT_READY");
      assert.equal(failureCause(e), "not-ready");
      assert.match(e.message, /cannot post in the operators room !operators:example\.com .*invite it there/);
      return true;
    });
    assert.equal(await h.store.journal.isHandled(event.eventId), false);
    assert.deepEqual(h.messenger.sentTo(ROOM_A), [], "no error message, no greeting yet");

    h.messenger.refusedRooms.delete(OPS);
    assert.equal(await h.helpdesk.handle(event), "handled");
    assert.equal(await h.helpdesk.handle(event), "duplicate");
    assert.deepEqual(h.messenger.sentTo(OPS).map((m) => m.body), ["[OPEN] 1st request from example.com (1st by @alice:example.com)", "@alice:example.com:\nhello"]);
    assert.deepEqual(h.messenger.sentTo(ROOM_A).map((m) => m.body), [h.deps.options.get("text.greetings")]);
    assert.equal((await h.store.tickets.list({ status: "all" })).length, 1);
  });

  it("an operator's reply waits while the database is busy, and is relayed once after", async () => {
    const h = await makeHelpdesk();
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, "hello"));
    const root = (await h.store.tickets.findOpenByRoom(ROOM_A))?.threadRoot ?? undefined;
    assert.ok(root !== undefined);
    const reply = h.message(OPS, OPERATOR, "on it", { threadRoot: root });
    const busy = new HonoroitError("BUSY", "the database is locked");
    const deps = { ...h.deps, store: failingCommit(h.store, 1, busy) };
    const { Helpdesk } = await import("../../src/core/helpdesk.ts");
    const { ChatDispatcher } = await import("../../src/chat/dispatcher.ts");
    const flaky = new Helpdesk(deps, new ChatDispatcher(deps));
    await assert.rejects(flaky.handle(reply), (e: unknown) => e === busy);
    assert.equal(await h.store.journal.isHandled(reply.eventId), false, "not marked: it will be handed over again");
    assert.equal(await h.store.relays.bySource(reply.eventId), undefined, "nothing half-recorded");
    assert.equal(await flaky.handle(reply), "handled");
    assert.deepEqual(h.messenger.sentTo(ROOM_A).map((m) => m.body), [h.deps.options.get("text.greetings"), "on it"], "sent once (the same transaction id)");
    assert.equal((await h.store.relays.bySource(reply.eventId))?.targetRoom, ROOM_A);
  });

  it("a command's reply refused for the operators room makes the command wait, not fail", async () => {
    const h = await makeHelpdesk();
    h.messenger.sendFailures.push({ error: forbiddenIn(OPS) });
    const help = h.message(OPS, OPERATOR, "!ho nonsense");
    await assert.rejects(h.helpdesk.handle(help), (e: unknown) => isHonoroitError(e) && e.code === "NOT_READY");
    assert.equal(await h.helpdesk.handle(help), "handled");
    assert.equal(h.messenger.sentTo(OPS).length, 1, "the help was sent once, when it could be");
    assert.match(h.messenger.sentTo(OPS)[0]?.body ?? "", /^`!ho nonsense` is not a command\.\n\nCommands/);
  });
});

describe("engine: refusals sorted by what they are about", () => {
  it("a greeting the homeserver refuses is reported in the thread, and the customer's messages still reach the operators", async () => {
    const h = await makeHelpdesk();
    h.messenger.sendFailures.push({ room: ROOM_A, error: new RefusedError("M_FORBIDDEN: You don't have permission to post that to the room.", { errcode: "M_FORBIDDEN", status: 403, room: ROOM_A }) });
    assert.equal(await h.helpdesk.handle(h.message(ROOM_A, ALICE, "hello")), "handled");
    assert.equal(await h.helpdesk.handle(h.message(ROOM_A, ALICE, "are you there?")), "handled");
    assert.deepEqual(h.messenger.sentTo(OPS).map((m) => m.body), [
      "[OPEN] 1st request from example.com (1st by @alice:example.com)",
      "The customer could not be greeted: M_FORBIDDEN: You don't have permission to post that to the room.",
      "@alice:example.com:\nhello",
      "@alice:example.com:\nare you there?",
    ]);
    assert.deepEqual(h.messenger.sentTo(ROOM_A), [], "no second try at the greeting");
  });

  it("a refused access token makes events wait (serve logs in again), it is not their fault", async () => {
    const h = await makeHelpdesk();
    h.messenger.sendFailures.push({ error: new RefusedError("M_UNKNOWN_TOKEN: Invalid access token passed.", { errcode: "M_UNKNOWN_TOKEN", status: 401, room: OPS }) });
    const event = h.message(ROOM_A, ALICE, "hello");
    await assert.rejects(h.helpdesk.handle(event), (e: unknown) => e instanceof RefusedError && failureCause(e) === "not-ready");
    assert.equal(await h.store.journal.isHandled(event.eventId), false);
    assert.equal(await h.helpdesk.handle(event), "handled");
  });

  it("a refusal in the operators room while the bot is in it (a spam checker) is the message's fault: the customer is told", async () => {
    const h = await makeHelpdesk();
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, "hello"));
    h.messenger.sendFailures.push({ room: OPS, error: new RefusedError("M_FORBIDDEN: This message has been rejected as probable spam", { errcode: "M_FORBIDDEN", status: 403, room: OPS }) });
    assert.equal(await h.helpdesk.handle(h.message(ROOM_A, ALICE, "buy now")), "failed");
    assert.equal(h.messenger.sentTo(ROOM_A).at(-1)?.body, h.deps.options.get("text.error"));
    assert.equal(await h.helpdesk.handle(h.message(ROOM_A, ALICE, "sorry")), "handled", "the room goes on");
  });
});

describe("engine: closing waits for what the customer wrote before", () => {
  it("a message still waiting in the customer's queue reaches the open thread before `done` closes it", async () => {
    const h = await makeHelpdesk();
    let release = (): void => undefined;
    const waited: RoomId[] = [];
    const inbox = {
      settled: (room: RoomId): Promise<void> => {
        waited.push(room);
        return new Promise<void>((resolve) => (release = resolve));
      },
    };
    const deps = { ...h.deps, inbox };
    const { Helpdesk } = await import("../../src/core/helpdesk.ts");
    const { ChatDispatcher } = await import("../../src/chat/dispatcher.ts");
    const desk = new Helpdesk(deps, new ChatDispatcher(deps));
    await desk.handle(h.message(ROOM_A, ALICE, "hello"));
    const root = (await h.store.tickets.findOpenByRoom(ROOM_A))?.threadRoot ?? undefined;
    assert.ok(root !== undefined);
    const closing = desk.handle(h.message(OPS, OPERATOR, "!ho done", { threadRoot: root }));
    while (waited.length === 0) await new Promise((r) => setImmediate(r));
    assert.deepEqual(waited, [ROOM_A]);
    // The customer's earlier message, handled while the close waits for it.
    await desk.handle(h.message(ROOM_A, ALICE, "one more thing"));
    release();
    await closing;
    const copy = h.messenger.calls.findIndex((c) => c.op === "send" && c.message.body.endsWith("one more thing"));
    const done = h.messenger.calls.findIndex((c) => c.op === "edit" && c.target === root);
    assert.ok(copy >= 0 && copy < done, "relayed before the thread was marked done");
    assert.equal(h.messenger.calls[copy]?.op === "send" ? h.messenger.calls[copy].message.threadRoot : undefined, root);
    assert.equal((await h.store.tickets.list({ status: "all" })).length, 1, "no second request");
  });
});

describe("engine: effects happen once across crashes", () => {
  it("`count` counts once even when it is handled again after counting (a crash before the event was marked)", async () => {
    const h = await makeHelpdesk();
    const count = h.message(OPS, OPERATOR, "!ho count @zed:else.where");
    // The reply fails after the count was committed: the event is handed over again.
    h.messenger.failNextSends = 1;
    await assert.rejects(h.helpdesk.handle(count));
    assert.equal(await h.helpdesk.handle(count), "handled");
    const replies = h.messenger.sentTo(OPS).map((m) => m.body);
    assert.deepEqual(replies, ["Counted as the 1st request from else.where (1st by @zed:else.where)."]);
    await h.helpdesk.handle(h.message(OPS, OPERATOR, "!ho count @zed:else.where"));
    assert.equal(h.messenger.sentTo(OPS).at(-1)?.body, "Counted as the 2nd request from else.where (2nd by @zed:else.where).", "the next count is the 2nd, not the 3rd");
  });

  it("`start` creates one room even when the answer to creating it was lost", async () => {
    const h = await makeHelpdesk();
    const start = h.message(OPS, OPERATOR, "!ho start @zed:else.where");
    h.messenger.createFailures.push(new HonoroitError("UNREACHABLE", "connection reset after the room was created"));
    await assert.rejects(h.helpdesk.handle(start), (e: unknown) => isHonoroitError(e) && e.code === "UNREACHABLE");
    assert.equal(await h.helpdesk.handle(start), "handled");
    assert.equal(h.messenger.createdRooms.size, 1);
    const tickets = await h.store.tickets.list({ status: "all" });
    assert.equal(tickets.length, 1);
    assert.equal(tickets[0]?.customerRoom, [...h.messenger.createdRooms.values()][0]);
  });

  it("a crash between a relay and its commit relays nothing twice on the replay", async () => {
    const h = await makeHelpdesk();
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, "hello"));
    const second = h.message(ROOM_A, ALICE, "again");
    const crash = Object.assign(new Error("process killed"), { name: "AbortError" });
    const deps = { ...h.deps, store: failingCommit(h.store, 1, crash) };
    const { Helpdesk } = await import("../../src/core/helpdesk.ts");
    const { ChatDispatcher } = await import("../../src/chat/dispatcher.ts");
    await assert.rejects(new Helpdesk(deps, new ChatDispatcher(deps)).handle(second));
    assert.equal(await h.helpdesk.handle(second), "handled");
    assert.deepEqual(h.messenger.sentTo(OPS).map((m) => m.body).slice(1), ["@alice:example.com:\nhello", "@alice:example.com:\nagain"]);
  });
});

describe("engine: ticket events become jobs", () => {
  it("each subscriber gets one job per ticket event, in the ticket's lane, queued with its cause and never twice", async () => {
    const h = await makeHelpdesk();
    const deps = { ...h.deps, subscribers: ["tracker"] };
    const { Helpdesk } = await import("../../src/core/helpdesk.ts");
    const { ChatDispatcher } = await import("../../src/chat/dispatcher.ts");
    const desk = new Helpdesk(deps, new ChatDispatcher(deps));
    const hello = h.message(ROOM_A, ALICE, "hello");
    await desk.handle(hello);
    await desk.handle(hello);
    const ticket = await h.store.tickets.findOpenByRoom(ROOM_A);
    assert.ok(ticket?.threadRoot != null);
    await desk.handle(h.message(OPS, OPERATOR, "on it", { threadRoot: ticket.threadRoot }));
    await closeTicket(deps, ticket.id, "cli");

    const due = await h.store.jobs.due(new Date(h.clock.now().getTime() + 1), ["tracker.opened", "tracker.customer-message", "tracker.operator-message", "tracker.closed"], 10);
    assert.deepEqual(due.map((j) => j.kind), ["tracker.opened"], "a lane runs in order: only its head is due");
    assert.equal(due[0]?.lane, `tracker:ticket:${ticket.id}`);
    const kinds: string[] = [];
    for (;;) {
      const [head] = await h.store.jobs.due(new Date(h.clock.now().getTime() + 1), ["tracker.opened", "tracker.customer-message", "tracker.operator-message", "tracker.closed"], 10);
      if (head === undefined) break;
      kinds.push(`${head.kind} ${(JSON.parse(head.payload) as { body?: string }).body ?? ""}`.trim());
      await h.store.jobs.complete(head.id);
    }
    assert.deepEqual(kinds, ["tracker.opened", "tracker.customer-message hello", "tracker.operator-message on it", "tracker.closed"]);
    assert.equal((h.messenger.sentTo(ROOM_A).at(-1)?.body), h.deps.options.get("text.done"));
  });
});
