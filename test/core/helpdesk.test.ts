import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EventId, RoomId, UserId } from "../../src/core/ids.ts";
import { BOT, makeHelpdesk, OPS } from "../support/helpdesk-fixture.ts";
import { autoCloseIdle } from "../../src/core/usecases/close-ticket.ts";
import { RefusedError } from "../../src/core/errors.ts";

const ALICE = "@alice:example.com" as UserId;
const BOB = "@bob:example.com" as UserId;
const CAROL = "@carol:other.org" as UserId;
const OPERATOR = "@op:example.com" as UserId;
const ROOM_A = "!alice-dm:example.com" as RoomId;
const ROOM_B = "!bob-dm:example.com" as RoomId;
const ROOM_C = "!carol-dm:other.org" as RoomId;

describe("helpdesk: opening and relaying", () => {
  it("opens a thread titled with ordinals, greets once, and relays with the name", async () => {
    const h = await makeHelpdesk();
    h.messenger.profiles.set(ALICE, { displayname: "Alice" });
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, "hello, my printer is on fire"));
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, "still burning"));

    const ops = h.messenger.sentTo(OPS);
    assert.equal(ops[0]?.body, "[OPEN] 1st request from example.com (1st by Alice (@alice:example.com))");
    assert.deepEqual(ops[0].fields, { customer: ALICE, homeserver: "example.com" });
    assert.equal(ops[1]?.body, "Alice (@alice:example.com):\nhello, my printer is on fire");
    assert.match(ops[1].html ?? "", /<a href="https:\/\/matrix\.to\/#\/%40alice%3Aexample\.com">Alice<\/a>:<br>hello, my printer is on fire/);
    assert.deepEqual(ops[1].profile, { id: ALICE, displayname: "Alice" });
    assert.equal(ops[2]?.body, "Alice (@alice:example.com):\nstill burning");
    const root = h.messenger.calls.find((c) => c.op === "send" && c.room === OPS);
    assert.ok(root && root.op === "send");
    assert.equal(ops[1].threadRoot, root.id);

    const toAlice = h.messenger.sentTo(ROOM_A);
    assert.equal(toAlice.length, 1, "one greeting per request");
    assert.equal(toAlice[0]?.body, h.deps.options.get("text.greetings"));
    assert.equal(toAlice[0].msgtype, "m.notice");
    assert.equal(h.metrics.newRequests, 1);
  });

  it("counts requests per homeserver and per user from the database", async () => {
    const h = await makeHelpdesk();
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, "one"));
    await h.helpdesk.handle(h.message(ROOM_B, BOB, "two"));
    await h.helpdesk.handle(h.message(ROOM_C, CAROL, "three"));
    const titles = h.messenger.sentTo(OPS).filter((m) => m.threadRoot === undefined).map((m) => m.body);
    assert.deepEqual(titles, [
      "[OPEN] 1st request from example.com (1st by @alice:example.com)",
      "[OPEN] 2nd request from example.com (1st by @bob:example.com)",
      "[OPEN] 1st request from other.org (1st by @carol:other.org)",
    ]);
    const carolGreeting = h.messenger.sentTo(ROOM_C)[0]?.body ?? "";
    assert.match(carolGreeting, /1st/, "a customer from another homeserver gets the ordinal greeting");
  });

  it("relays nothing twice when an event is handled again (replay after a crash)", async () => {
    const h = await makeHelpdesk();
    const first = h.message(ROOM_A, ALICE, "hello");
    await h.helpdesk.handle(first);
    const before = h.messenger.calls.length;
    await h.helpdesk.handle(first);
    assert.equal(h.messenger.calls.length, before);
  });

  it("finishes opening a request after a failed send, with one thread", async () => {
    const h = await makeHelpdesk();
    const event = h.message(ROOM_A, ALICE, "hello");
    h.messenger.failNextSends = 1;
    await assert.rejects(h.helpdesk.handle(event), /network down/);
    await h.helpdesk.handle(event);
    const roots = h.messenger.sentTo(OPS).filter((m) => m.threadRoot === undefined);
    assert.equal(roots.length, 1);
    assert.equal(h.messenger.sentTo(OPS).filter((m) => m.body.endsWith("hello")).length, 1);
    assert.equal((await h.store.tickets.list({ status: "all" })).length, 1);
  });

  it("opens one ticket when messages arrive at once in one room", async () => {
    const h = await makeHelpdesk();
    await Promise.all([1, 2, 3, 4, 5].map((i) => h.helpdesk.handle(h.message(ROOM_A, ALICE, `burst ${i}`))));
    assert.equal((await h.store.tickets.list({ status: "all" })).length, 1);
    const relayed = h.messenger.sentTo(OPS).filter((m) => m.threadRoot !== undefined).map((m) => m.body.split("\n")[1]);
    assert.deepEqual(relayed, ["burst 1", "burst 2", "burst 3", "burst 4", "burst 5"]);
  });

  it("keeps customers from pinging the operators room and drops disallowed HTML", async () => {
    const h = await makeHelpdesk();
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, { msgtype: "m.text", body: "@room help", html: "<b>@room</b> <script>alert(1)</script><i>help</i>" }));
    const copy = h.messenger.sentTo(OPS)[1];
    assert.ok(copy);
    assert.ok(!copy.body.includes("@room"), "plain @room must not survive");
    assert.deepEqual(copy.mentions, []);
    assert.ok(!(copy.html ?? "").includes("script"));
    assert.match(copy.html ?? "", /<i>help<\/i>/);
  });

  it("never runs commands from a customer: their `!ho done` is just relayed", async () => {
    const h = await makeHelpdesk();
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, "!ho done"));
    assert.equal(h.messenger.sentTo(OPS)[1]?.body, "@alice:example.com:\n!ho done");
    assert.equal((await h.store.tickets.list({ status: "open" })).length, 1);
  });

  it("warns a customer once whose encrypted messages it cannot read", async () => {
    const h = await makeHelpdesk();
    for (const id of ["$enc1", "$enc2"]) {
      await h.helpdesk.handle({ type: "undecryptable", room: ROOM_A, sender: ALICE, eventId: id as EventId, ts: new Date() });
    }
    assert.deepEqual(h.messenger.sentTo(ROOM_A).map((m) => m.body), [h.deps.options.get("text.greetings.before.encryption")]);
  });

  it("tells a request's thread of each customer message it cannot decrypt, and the operators room of an operator's", async () => {
    const h = await makeHelpdesk();
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, "hello"));
    const root = (await h.store.tickets.findOpenByRoom(ROOM_A))?.threadRoot;
    assert.ok(root !== undefined && root !== null);
    for (const id of ["$enc1", "$enc2"]) {
      await h.helpdesk.handle({ type: "undecryptable", room: ROOM_A, sender: ALICE, eventId: id as EventId, ts: new Date() });
    }
    const notices = h.messenger.sentTo(OPS).filter((m) => m.msgtype === "m.notice" && m.body.includes("could not be decrypted"));
    assert.equal(notices.length, 2);
    assert.equal(notices[0]?.body, "A message from @alice:example.com could not be decrypted (its keys did not reach the bot); it is missing from this thread.");
    assert.deepEqual(notices.map((n) => n.threadRoot), [root, root]);

    await h.helpdesk.handle({ type: "undecryptable", room: OPS, sender: OPERATOR, eventId: "$enc3" as EventId, ts: new Date() });
    const last = h.messenger.sentTo(OPS).at(-1);
    assert.equal(last?.body, "A message from @op:example.com in this room could not be decrypted (its keys did not reach the bot), so it was not acted on. Please send it again.");
    assert.equal(last.threadRoot, undefined);
    assert.equal(h.messenger.sentTo(ROOM_A).filter((m) => m.body === h.deps.options.get("text.greetings.before.encryption")).length, 1, "the customer is asked once");
  });

  it("relays media as media with the same mxc", async () => {
    const h = await makeHelpdesk();
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, { msgtype: "m.image", body: "cat.png", media: { url: "mxc://example.com/cat", info: { mimetype: "image/png" } } }));
    const copy = h.messenger.sentTo(OPS)[1];
    assert.equal(copy?.msgtype, "m.image");
    assert.equal(copy.media?.url, "mxc://example.com/cat");
  });
});

describe("helpdesk: operators", () => {
  async function opened() {
    const h = await makeHelpdesk();
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, "hello"));
    const root = h.messenger.calls.find((c) => c.op === "send" && c.room === OPS);
    assert.ok(root && root.op === "send");
    return { h, root: root.id };
  }

  it("relays a thread reply to the customer as the bot, without the reply quote", async () => {
    const { h, root } = await opened();
    await h.helpdesk.handle(h.message(OPS, OPERATOR, { msgtype: "m.text", body: "> <@op2:example.com> internal: she is rude\n\nHi Alice, we are on it", html: "<mx-reply><blockquote>internal</blockquote></mx-reply>Hi Alice, we are on it" }, { threadRoot: root, replyTo: "$x" as EventId }));
    const toAlice = h.messenger.sentTo(ROOM_A);
    assert.equal(toAlice.at(-1)?.body, "Hi Alice, we are on it");
    assert.equal(toAlice.at(-1)?.html, "Hi Alice, we are on it");
    assert.equal(h.metrics.operator, 1);
  });

  it("closes with done: customer told, title marked done, bot leaves; later messages get a notice", async () => {
    const { h, root } = await opened();
    await h.helpdesk.handle(h.message(OPS, OPERATOR, "!ho done", { threadRoot: root }));
    assert.equal(h.messenger.sentTo(ROOM_A).at(-1)?.body, h.deps.options.get("text.done"));
    const edit = h.messenger.calls.find((c) => c.op === "edit");
    assert.ok(edit?.op === "edit");
    assert.equal(edit.target, root);
    assert.equal(edit.message.body, "[DONE] 1st request from example.com (1st by @alice:example.com)");
    assert.ok(h.messenger.calls.some((c) => c.op === "leave" && c.room === ROOM_A));
    assert.equal((await h.store.tickets.list({ status: "closed" })).length, 1);

    await h.helpdesk.handle(h.message(OPS, OPERATOR, "are you there?", { threadRoot: root }));
    assert.match(h.messenger.sentTo(OPS).at(-1)?.body ?? "", /closed/);
    assert.ok(!h.messenger.sentTo(ROOM_A).some((m) => m.body === "are you there?"));
  });

  it("closes even when the customer's room refuses the bot, and says what could not be done", async () => {
    const { h, root } = await opened();
    h.messenger.refusedRooms.add(ROOM_A);
    await h.helpdesk.handle(h.message(OPS, OPERATOR, "!ho done", { threadRoot: root }));
    assert.equal((await h.store.tickets.list({ status: "closed" })).length, 1);
    const reply = h.messenger.sentTo(OPS).at(-1)?.body ?? "";
    assert.match(reply, /^Request #1 is closed\.\nNote: the customer could not be told: M_FORBIDDEN/);
    assert.match(reply, /Note: the bot could not leave the customer's room: M_FORBIDDEN/);
  });

  it("tells the operator in the thread when a message cannot be delivered", async () => {
    const { h, root } = await opened();
    h.messenger.refusedRooms.add(ROOM_A);
    await h.helpdesk.handle(h.message(OPS, OPERATOR, "hello?", { threadRoot: root }));
    const notice = h.messenger.sentTo(OPS).at(-1);
    assert.equal(notice?.threadRoot, root);
    assert.match(notice.body, /^This message could not be delivered to the customer: M_FORBIDDEN: you are not in this room \(reference [a-z0-9]+\)$/);
  });

  it("keeps a request open when the homeserver is unreachable while closing, and finishes the close later", async () => {
    const { h, root } = await opened();
    const done = h.message(OPS, OPERATOR, "!ho done", { threadRoot: root });
    h.messenger.failNextSends = 1;
    await assert.rejects(h.helpdesk.handle(done), /network down/);
    assert.equal((await h.store.tickets.list({ status: "open" })).length, 1, "not closed half-way");
    await h.helpdesk.handle(done);
    assert.equal((await h.store.tickets.list({ status: "closed" })).length, 1);
    assert.ok(h.messenger.calls.some((c) => c.op === "edit" && c.message.body.startsWith("[DONE]")));
    assert.equal(h.messenger.sentTo(ROOM_A).filter((m) => m.body === h.deps.options.get("text.done")).length, 1);
  });

  it("never relays a customer message into a thread after it was closed", async () => {
    const { h, root } = await opened();
    await Promise.all([
      h.helpdesk.handle(h.message(OPS, OPERATOR, "!ho done", { threadRoot: root })),
      h.helpdesk.handle(h.message(ROOM_A, ALICE, "wait, one more thing")),
    ]);
    const doneAt = h.messenger.calls.findIndex((c) => c.op === "edit" && c.target === root);
    const copyAt = h.messenger.calls.findIndex((c) => c.op === "send" && c.message.body.endsWith("wait, one more thing"));
    assert.ok(doneAt >= 0 && copyAt >= 0);
    const copy = h.messenger.calls[copyAt];
    assert.ok(copy?.op === "send");
    if (copy.message.threadRoot === root) assert.ok(copyAt < doneAt, "relayed into the old thread only before it was closed");
    else assert.equal((await h.store.tickets.list({ status: "open" })).length, 1, "or it opened a new request");
  });

  it("tells a customer when the homeserver refuses their message itself, and goes on", async () => {
    const h = await makeHelpdesk();
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, "hello"));
    h.messenger.sendFailures.push({ room: OPS, error: new RefusedError("M_TOO_LARGE: event too large", { errcode: "M_TOO_LARGE", status: 413, room: OPS }) });
    const event = h.message(ROOM_A, ALICE, "x".repeat(100));
    assert.equal(await h.helpdesk.handle(event), "failed");
    assert.deepEqual(h.messenger.sentTo(ROOM_A).map((m) => m.body), [h.deps.options.get("text.greetings"), h.deps.options.get("text.error")]);
    assert.ok(await h.store.journal.isHandled(event.eventId), "a final failure does not block the events after it");
    assert.ok(h.logger.lines.some((l) => l.level === "error" && l.message === "an event could not be handled"));
  });

  it("accepts the aliases complete and close", async () => {
    for (const word of ["complete", "close"]) {
      const { h, root } = await opened();
      await h.helpdesk.handle(h.message(OPS, OPERATOR, `!ho ${word}`, { threadRoot: root }));
      assert.equal((await h.store.tickets.list({ status: "closed" })).length, 1, word);
    }
  });

  it("answers an unknown command by naming it, then with help generated from the table", async () => {
    const { h, root } = await opened();
    await h.helpdesk.handle(h.message(OPS, OPERATOR, "!ho frobnicate", { threadRoot: root }));
    const help = h.messenger.sentTo(OPS).at(-1)?.body ?? "";
    assert.match(help, /^`!ho frobnicate` is not a command\.\n/);
    for (const c of ["done", "rename", "note", "invite", "start", "count", "config", "help"]) assert.match(help, new RegExp(`!ho ${c}`));
  });

  it("renames, notes without relaying, and invites the operator", async () => {
    const { h, root } = await opened();
    await h.helpdesk.handle(h.message(OPS, OPERATOR, "!ho rename Printer on fire", { threadRoot: root }));
    await h.helpdesk.handle(h.message(OPS, OPERATOR, "!ho note she is a VIP", { threadRoot: root }));
    await h.helpdesk.handle(h.message(OPS, OPERATOR, "!ho invite", { threadRoot: root }));
    assert.ok(h.messenger.calls.some((c) => c.op === "edit" && c.message.body === "[OPEN] Printer on fire"));
    assert.ok(!h.messenger.sentTo(ROOM_A).some((m) => m.body.includes("VIP")));
    assert.ok(h.messenger.calls.some((c) => c.op === "invite" && c.user === OPERATOR && c.room === ROOM_A));
  });

  it("sets an option, rejecting a bad value with the accepted values", async () => {
    const { h, root } = await opened();
    await h.helpdesk.handle(h.message(OPS, OPERATOR, "!ho config msgtype m.shout", { threadRoot: root }));
    assert.match(h.messenger.sentTo(OPS).at(-1)?.body ?? "", /m\.notice/);
    const set = h.message(OPS, OPERATOR, "!ho config msgtype m.text", { threadRoot: root });
    await h.helpdesk.handle(set);
    assert.equal(h.deps.options.get("msgtype"), "m.text");
    assert.ok(h.messenger.calls.some((c) => c.op === "react" && c.target === set.eventId && c.reaction === "✅"), "a ✅ on the command says it is set");
  });

  it("tells an operator writing outside any thread, unless ignore.nothread", async () => {
    const { h } = await opened();
    await h.helpdesk.handle(h.message(OPS, OPERATOR, "hello room"));
    assert.match(h.messenger.sentTo(OPS).at(-1)?.body ?? "", /not in a request's thread/);
    await h.deps.options.set("ignore.nothread", "yes");
    const before = h.messenger.calls.length;
    await h.helpdesk.handle(h.message(OPS, OPERATOR, "hello again"));
    assert.equal(h.messenger.calls.length, before);
  });

  it("starts a request with someone once, and refuses a second while the first is open", async () => {
    const h = await makeHelpdesk();
    await h.helpdesk.handle(h.message(OPS, OPERATOR, "!ho start @dave:example.com"));
    assert.match(h.messenger.sentTo(OPS).at(-1)?.body ?? "", /^Started request #1 with @dave:example\.com: \[OPEN\] 1st request from example\.com/);
    await h.helpdesk.handle(h.message(OPS, OPERATOR, "!ho start @dave:example.com"));
    assert.match(h.messenger.sentTo(OPS).at(-1)?.body ?? "", /^@dave:example\.com already has an open request, #1/);
    assert.equal((await h.store.tickets.list({ status: "all" })).length, 1);
  });

  it("counts a request without contacting anyone", async () => {
    const { h } = await opened();
    await h.helpdesk.handle(h.message(OPS, OPERATOR, "!ho count @dave:example.com"));
    assert.match(h.messenger.sentTo(OPS).at(-1)?.body ?? "", /2nd request from example\.com \(1st by @dave:example\.com\)/);
    await h.helpdesk.handle(h.message(ROOM_B, BOB, "hi"));
    assert.match(h.messenger.sentTo(OPS).filter((m) => m.threadRoot === undefined).at(-1)?.body ?? "", /3rd request from example\.com/);
  });

  it("mirrors reactions and edits onto the copy", async () => {
    const { h, root } = await opened();
    const opMsg = h.message(OPS, OPERATOR, "we are on it", { threadRoot: root });
    await h.helpdesk.handle(opMsg);
    const copy = h.messenger.calls.find((c) => c.op === "send" && c.room === ROOM_A && c.message.body === "we are on it");
    assert.ok(copy && copy.op === "send");
    await h.helpdesk.handle({ type: "reaction", room: ROOM_A, sender: ALICE, eventId: "$r1" as EventId, ts: new Date(), target: copy.id, key: "👍" });
    assert.ok(h.messenger.calls.some((c) => c.op === "react" && c.room === OPS && c.target === opMsg.eventId && c.reaction === "👍"));
    await h.helpdesk.handle({ type: "edit", room: OPS, sender: OPERATOR, eventId: "$e1" as EventId, ts: new Date(), target: opMsg.eventId, threadRoot: root, content: { msgtype: "m.text", body: "we are ON it" } });
    assert.ok(h.messenger.calls.some((c) => c.op === "edit" && c.room === ROOM_A && c.target === copy.id && c.message.body === "we are ON it"));
    await h.helpdesk.handle({ type: "redaction", room: OPS, sender: OPERATOR, eventId: "$d1" as EventId, ts: new Date(), target: opMsg.eventId });
    assert.ok(h.messenger.calls.some((c) => c.op === "redact" && c.room === ROOM_A && c.target === copy.id));
  });
});

describe("helpdesk: invites, membership, auto-close", () => {
  it("joins allowed inviters, rejects others, always joins the operators room", async () => {
    const h = await makeHelpdesk();
    await h.deps.options.set("allow.users", "@*:example.com");
    await h.helpdesk.handle({ type: "invite", room: ROOM_A, sender: ALICE, eventId: "$i1" as EventId, ts: new Date(), isDirect: true });
    await h.helpdesk.handle({ type: "invite", room: ROOM_C, sender: CAROL, eventId: "$i2" as EventId, ts: new Date(), isDirect: true });
    await h.helpdesk.handle({ type: "invite", room: OPS, sender: CAROL, eventId: "$i3" as EventId, ts: new Date(), isDirect: false });
    assert.deepEqual(h.messenger.calls.map((c) => `${c.op} ${"room" in c ? c.room : ""}`), [`join ${ROOM_A}`, `reject ${ROOM_C}`, `join ${OPS}`]);
  });

  it("turns membership changes into thread notices and announces an empty room", async () => {
    const h = await makeHelpdesk();
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, "hello"));
    h.messenger.roomMembers.set(ROOM_A, [BOT]);
    await h.helpdesk.handle({ type: "membership", room: ROOM_A, sender: ALICE, eventId: "$m1" as EventId, ts: new Date(), user: ALICE, membership: "leave", displayname: "Alice" });
    const notices = h.messenger.sentTo(OPS).filter((m) => m.msgtype === "m.notice").map((m) => m.body);
    assert.ok(notices.some((n) => n.includes("Alice")), "leave notice names the person");
    assert.ok(notices.includes(h.deps.options.get("text.emptyroom")));
  });

  it("closes idle requests with the auto-close text", async () => {
    const h = await makeHelpdesk();
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, "hello"));
    h.clock.advance(6 * 86_400_000);
    assert.equal(await autoCloseIdle(h.deps), 0);
    h.clock.advance(2 * 86_400_000);
    assert.equal(await autoCloseIdle(h.deps), 1);
    assert.equal(h.messenger.sentTo(ROOM_A).at(-1)?.body, h.deps.options.get("text.done.auto"));
    assert.equal((await h.store.tickets.list({ status: "closed" }))[0]?.closeReason, "auto");
  });

  it("sends nothing automatic to customers when silent", async () => {
    const h = await makeHelpdesk();
    await h.deps.options.set("silent", "true");
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, "hello"));
    assert.equal(h.messenger.sentTo(ROOM_A).length, 0);
    assert.equal(h.messenger.sentTo(OPS).length, 2);
  });
});
