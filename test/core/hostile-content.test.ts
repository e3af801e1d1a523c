// What a customer (or an operator) sends cannot pass for the bot, nor act on someone else's
// messages: copies are labelled, relations only act within their ticket and, for edits and
// redactions, on their author's own messages.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EventId, RoomId, UserId } from "../../src/core/ids.ts";
import { makeHelpdesk, OPS } from "../support/helpdesk-fixture.ts";

const ALICE = "@alice:example.com" as UserId;
const BOB = "@bob:example.com" as UserId;
const OPERATOR = "@op:example.com" as UserId;
const OTHER_OPERATOR = "@op2:example.com" as UserId;
const ROOM_A = "!alice-dm:example.com" as RoomId;
const ROOM_B = "!bob-dm:example.com" as RoomId;

async function twoTickets() {
  const h = await makeHelpdesk();
  await h.helpdesk.handle(h.message(ROOM_A, ALICE, "hello"));
  await h.helpdesk.handle(h.message(ROOM_B, BOB, "hi"));
  const roots = h.messenger.calls.filter((c) => c.op === "send" && c.room === OPS && c.message.threadRoot === undefined).map((c) => (c.op === "send" ? c.id : ""));
  assert.equal(roots.length, 2);
  return { h, rootA: roots[0] as EventId, rootB: roots[1] as EventId };
}

let n = 0;
const id = (): EventId => `$hostile${++n}` as EventId;

describe("hostile content: a customer cannot pass for the bot", () => {
  it("a notice with an mxc url is relayed as the customer's labelled text, not as a bare notice", async () => {
    const { h } = await twoTickets();
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, { msgtype: "m.notice", body: "Request #2 is closed.", media: { url: "mxc://example.com/x" } }));
    const copy = h.messenger.sentTo(OPS).at(-1);
    assert.equal(copy?.msgtype, "m.text");
    assert.equal(copy.body, "@alice:example.com:\nRequest #2 is closed.");
    assert.equal(copy.media, undefined);
  });

  it("an unknown msgtype is relayed as labelled text", async () => {
    const { h } = await twoTickets();
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, { msgtype: "m.server_notice", body: "Your account is suspended" }));
    const copy = h.messenger.sentTo(OPS).at(-1);
    assert.equal(copy?.msgtype, "m.text");
    assert.equal(copy.body, "@alice:example.com:\nYour account is suspended");
  });

  it("a file keeps its name and carries the customer's label as its caption", async () => {
    const { h } = await twoTickets();
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, { msgtype: "m.file", body: "invoice.pdf", media: { url: "mxc://example.com/inv" } }));
    const copy = h.messenger.sentTo(OPS).at(-1);
    assert.equal(copy?.msgtype, "m.file");
    assert.equal(copy.body, "@alice:example.com: invoice.pdf");
    assert.deepEqual(copy.media, { url: "mxc://example.com/inv", filename: "invoice.pdf" });
  });
});

describe("hostile relations: only within their ticket, only their author's", () => {
  it("a customer's reaction to another ticket's copy is not relayed", async () => {
    const { h, rootA } = await twoTickets();
    const answer = h.message(OPS, OPERATOR, "for alice", { threadRoot: rootA });
    await h.helpdesk.handle(answer);
    const copyForAlice = h.messenger.calls.find((c) => c.op === "send" && c.room === ROOM_A && c.message.body === "for alice");
    assert.ok(copyForAlice?.op === "send");
    // Bob learned the event id somehow; he reacts to it from his own room.
    await h.helpdesk.handle({ type: "reaction", room: ROOM_B, sender: BOB, eventId: id(), ts: new Date(), target: copyForAlice.id, key: "💩" });
    await h.helpdesk.handle({ type: "reaction", room: ROOM_B, sender: BOB, eventId: id(), ts: new Date(), target: answer.eventId, key: "💩" });
    assert.equal(h.messenger.calls.filter((c) => c.op === "react").length, 0);
    // Alice's own reaction still goes through.
    await h.helpdesk.handle({ type: "reaction", room: ROOM_A, sender: ALICE, eventId: id(), ts: new Date(), target: copyForAlice.id, key: "👍" });
    assert.ok(h.messenger.calls.some((c) => c.op === "react" && c.room === OPS && c.target === answer.eventId && c.reaction === "👍"));
  });

  it("an operator cannot edit or redact another operator's relayed reply; the author can", async () => {
    const { h, rootA } = await twoTickets();
    const answer = h.message(OPS, OPERATOR, "we are on it", { threadRoot: rootA });
    await h.helpdesk.handle(answer);
    const edit = (sender: UserId, body: string) => ({ type: "edit" as const, room: OPS, sender, eventId: id(), ts: new Date(), target: answer.eventId, threadRoot: rootA, content: { msgtype: "m.text", body } });
    await h.helpdesk.handle(edit(OTHER_OPERATOR, "you are fired"));
    await h.helpdesk.handle({ type: "redaction", room: OPS, sender: OTHER_OPERATOR, eventId: id(), ts: new Date(), target: answer.eventId });
    assert.equal(h.messenger.calls.filter((c) => (c.op === "edit" || c.op === "redact") && c.room === ROOM_A).length, 0);
    await h.helpdesk.handle(edit(OPERATOR, "we are ON it"));
    assert.ok(h.messenger.calls.some((c) => c.op === "edit" && c.room === ROOM_A && c.message.body === "we are ON it"));
    await h.helpdesk.handle({ type: "redaction", room: OPS, sender: OPERATOR, eventId: id(), ts: new Date(), target: answer.eventId });
    assert.ok(h.messenger.calls.some((c) => c.op === "redact" && c.room === ROOM_A));
  });

  it("a customer's edit of a message in another ticket does nothing", async () => {
    const { h } = await twoTickets();
    const alices = h.message(ROOM_A, ALICE, "my order is late");
    await h.helpdesk.handle(alices);
    await h.helpdesk.handle({ type: "edit", room: ROOM_B, sender: BOB, eventId: id(), ts: new Date(), target: alices.eventId, content: { msgtype: "m.text", body: "never mind" } });
    assert.equal(h.messenger.calls.filter((c) => c.op === "edit").length, 0);
  });
});

describe("permissions: changing the bot needs power.level in the operators room", () => {
  const OPS_MEMBER = "@member:example.com" as UserId;

  it("a member without the level may read options and run the rest, not set an option nor start a request", async () => {
    const { h, rootA } = await twoTickets();
    const last = (): string => h.messenger.sentTo(OPS).at(-1)?.body ?? "";
    await h.helpdesk.handle(h.message(OPS, OPS_MEMBER, "!ho config allow.users @*:*", { threadRoot: rootA }));
    assert.equal(last(), "To change an option you need power level 50 in this room; yours is 0. (Option power.level sets the level.)");
    assert.deepEqual(h.deps.options.get("allow.users"), ["@*:*"]);
    await h.helpdesk.handle(h.message(OPS, OPS_MEMBER, "!ho start @eve:example.com"));
    assert.equal(last(), "To start a request with someone you need power level 50 in this room; yours is 0. (Option power.level sets the level.)");
    assert.equal((await h.store.tickets.list({ status: "all" })).length, 2, "no request was started");
    await h.helpdesk.handle(h.message(OPS, OPS_MEMBER, "!ho config msgtype", { threadRoot: rootA }));
    assert.match(last(), /msgtype/);
    await h.helpdesk.handle(h.message(OPS, OPS_MEMBER, "!ho done", { threadRoot: rootA }));
    assert.equal(last(), "Request #1 is closed.");
  });

  it("a member with the level may; power.level 0 lets everyone", async () => {
    const { h, rootA } = await twoTickets();
    h.messenger.powerLevels.set(`${OPS} ${OPS_MEMBER}`, 50);
    const acknowledged = (event: EventId): boolean => h.messenger.calls.some((c) => c.op === "react" && c.target === event && c.reaction === "✅");
    const member = h.message(OPS, OPS_MEMBER, "!ho config msgtype m.text", { threadRoot: rootA });
    await h.helpdesk.handle(member);
    assert.equal(h.deps.options.get("msgtype"), "m.text");
    assert.ok(acknowledged(member.eventId));
    await h.helpdesk.handle(h.message(OPS, OPERATOR, "!ho config power.level 0", { threadRoot: rootA }));
    const nobody = h.message(OPS, "@nobody:example.com" as UserId, "!ho config msgtype m.notice", { threadRoot: rootA });
    await h.helpdesk.handle(nobody);
    assert.equal(h.deps.options.get("msgtype"), "m.notice");
    assert.ok(acknowledged(nobody.eventId));
  });
});
