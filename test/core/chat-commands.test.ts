// What an operator sees from the chat commands: thread titles, ✅ reactions, replies and help.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChatDispatcher } from "../../src/chat/dispatcher.ts";
import { isHonoroitError } from "../../src/core/errors.ts";
import type { MessageEvent } from "../../src/core/events.ts";
import { parseTicketId, type EventId, type RoomId, type UserId } from "../../src/core/ids.ts";
import type { OutgoingMessage } from "../../src/core/events.ts";
import { prefixedTitle } from "../../src/core/usecases/rename-ticket.ts";
import { makeHelpdesk, OPS } from "../support/helpdesk-fixture.ts";

const ALICE = "@alice:example.com" as UserId;
const OPERATOR = "@op:example.com" as UserId;
const ROOM_A = "!alice-dm:example.com" as RoomId;
const FIRST = parseTicketId(1);

async function opened() {
  const h = await makeHelpdesk();
  h.messenger.profiles.set(ALICE, { displayname: "Alice" });
  await h.helpdesk.handle(h.message(ROOM_A, ALICE, "hello"));
  const root = h.messenger.calls.find((c) => c.op === "send" && c.room === OPS);
  assert.ok(root?.op === "send");
  /** The operator sends `text` in the request's thread (or outside any thread); returns the event. */
  const say = async (text: string, inThread = true): Promise<MessageEvent> => {
    const event = h.message(OPS, OPERATOR, text, inThread ? { threadRoot: root.id } : {});
    await h.helpdesk.handle(event);
    assert.equal(event.type, "message");
    return event;
  };
  /** The thread root as an operator's client shows it: its latest edit, else the original. */
  const title = (): string => h.messenger.calls.reduce((shown, c) => (c.op === "edit" && c.target === root.id ? c.message.body : shown), root.message.body);
  /** Reactions the bot put on an event. */
  const reactionsOn = (event: EventId): string[] => h.messenger.calls.flatMap((c) => (c.op === "react" && c.room === OPS && c.target === event ? [c.reaction] : []));
  /** Notices the bot posted after the given number of calls. */
  const noticesSince = (n: number): OutgoingMessage[] => h.messenger.calls.slice(n).flatMap((c) => (c.op === "send" && c.room === OPS ? [c.message] : []));
  return { h, root: root.id, say, title, reactionsOn, noticesSince };
}

describe("chat: rename keeps the status prefix", () => {
  it("titles an open request [OPEN] TEXT, acknowledges with ✅ and says nothing more", async () => {
    const t = await opened();
    assert.match(t.title(), /^\[OPEN\] 1st request from example\.com/);
    const before = t.h.messenger.calls.length;
    const rename = await t.say("!ho rename Printer on fire");
    assert.equal(t.title(), "[OPEN] Printer on fire");
    assert.equal((await t.h.store.tickets.get(FIRST))?.title, "[OPEN] Printer on fire");
    assert.deepEqual(t.reactionsOn(rename.eventId), ["✅"]);
    assert.deepEqual(t.noticesSince(before), [], "no notice besides the reaction");
    const edit = t.h.messenger.calls.find((c) => c.op === "edit");
    assert.deepEqual(edit?.op === "edit" ? edit.message.fields : undefined, { customer: ALICE, homeserver: "example.com" }, "the root keeps its machine-readable fields");
  });

  it("does not double a prefix the operator typed, in any case, and replaces the other status's prefix", async () => {
    const t = await opened();
    await t.say("!ho rename [OPEN] Printer on fire");
    assert.equal(t.title(), "[OPEN] Printer on fire");
    await t.say("!ho rename [open]Toner low");
    assert.equal(t.title(), "[OPEN] Toner low");
    await t.say("!ho rename [DONE] Paper jam");
    assert.equal(t.title(), "[OPEN] Paper jam", "renaming does not close: the open prefix stays");
  });

  it("turns the prefix into the done prefix when the renamed request is closed", async () => {
    const t = await opened();
    await t.say("!ho rename Printer on fire");
    await t.say("!ho done");
    assert.equal(t.title(), "[DONE] Printer on fire");
    assert.equal((await t.h.store.tickets.get(FIRST))?.title, "[DONE] Printer on fire");
  });

  it("titles a closed request [DONE] TEXT", async () => {
    const t = await opened();
    await t.say("!ho done");
    const rename = await t.say("!ho rename Printer was on fire");
    assert.equal(t.title(), "[DONE] Printer was on fire");
    assert.deepEqual(t.reactionsOn(rename.eventId), ["✅"]);
    await t.say("!ho rename [DONE] Printer fixed");
    assert.equal(t.title(), "[DONE] Printer fixed");
  });

  it("uses the configured prefixes, and the status the request has when the title is written", async () => {
    const t = await opened();
    await t.h.deps.options.set("text.prefix.open", "🟢 Ticket");
    await t.h.deps.options.set("text.prefix.done", "✔ Ticket");
    await t.say("!ho rename Tickets are not printing");
    assert.equal(t.title(), "🟢 Ticket Tickets are not printing", "a word that only begins like the prefix is kept");
    await t.say("!ho rename 🟢 ticket Scanner");
    assert.equal(t.title(), "🟢 Ticket Scanner");
    // The dispatcher was handed the ticket as it was before a close elsewhere (the command line,
    // auto-close): the title follows the request's status at the time of writing.
    const stale = await t.h.store.tickets.get(FIRST);
    assert.ok(stale !== undefined);
    await t.say("!ho done");
    await new ChatDispatcher(t.h.deps).run(t.h.message(OPS, OPERATOR, "!ho rename Scanner fixed", { threadRoot: t.root }) as MessageEvent, stale);
    assert.equal(t.title(), "✔ Ticket Scanner fixed");
  });

  it("answers a missing title with the usage, without a reaction or an edit", async () => {
    const t = await opened();
    for (const text of ["!ho rename", "!ho rename   [OPEN]  "]) {
      const before = t.h.messenger.calls.length;
      const rename = await t.say(text);
      assert.deepEqual(t.noticesSince(before).map((m) => m.body), ["rename needs the new title, e.g. `rename Printer on fire`"], text);
      assert.deepEqual(t.reactionsOn(rename.eventId), [], text);
    }
    assert.ok(!t.h.messenger.calls.some((c) => c.op === "edit"));
  });

  it("is refused outside a request's thread", async () => {
    const t = await opened();
    const before = t.h.messenger.calls.length;
    await t.say("!ho rename Printer", false);
    assert.deepEqual(t.noticesSince(before).map((m) => m.body), ["`!ho rename` works inside a request's thread."]);
  });
});

describe("chat: ✅ for note and config KEY VALUE", () => {
  it("acknowledges a note with ✅ and sends the customer nothing", async () => {
    const t = await opened();
    const before = t.h.messenger.calls.length;
    const note = await t.say("!ho note she is a VIP");
    assert.deepEqual(t.reactionsOn(note.eventId), ["✅"]);
    assert.deepEqual(t.noticesSince(before), []);
    assert.ok(!t.h.messenger.sentTo(ROOM_A).some((m) => m.body.includes("VIP")));
  });

  it("acknowledges a stored option with ✅; a refused value gets the error text and no reaction", async () => {
    const t = await opened();
    const before = t.h.messenger.calls.length;
    const set = await t.say("!ho config silent yes");
    assert.equal(t.h.deps.options.get("silent"), true);
    assert.deepEqual(t.reactionsOn(set.eventId), ["✅"]);
    assert.deepEqual(t.noticesSince(before), []);

    const bad = await t.say("!ho config msgtype m.shout");
    assert.deepEqual(t.reactionsOn(bad.eventId), []);
    assert.equal(t.noticesSince(before).at(-1)?.body, 'msgtype: "m.shout" is not one of them; accepted: m.notice or m.text');

    const show = await t.say("!ho config silent");
    assert.deepEqual(t.reactionsOn(show.eventId), [], "showing an option answers with text");
    assert.match(t.noticesSince(before).at(-1)?.body ?? "", /^silent: true\n/);
  });

  it("refuses a setter without the power level in words, without a reaction", async () => {
    const t = await opened();
    const set = await t.h.helpdesk.handle(t.h.message(OPS, "@newbie:example.com" as UserId, "!ho config silent yes", { threadRoot: t.root }));
    assert.equal(set, "handled");
    assert.match(t.h.messenger.sentTo(OPS).at(-1)?.body ?? "", /^To change an option you need power level 50 in this room; yours is 0\./);
    assert.ok(!t.h.messenger.calls.some((c) => c.op === "react"));
  });

  it("puts one ✅ on a command handled again after a crash", async () => {
    const t = await opened();
    const ticket = await t.h.store.tickets.get(FIRST);
    const note = t.h.message(OPS, OPERATOR, "!ho note call her back", { threadRoot: t.root }) as MessageEvent;
    const dispatcher = new ChatDispatcher(t.h.deps);
    // A crash after the reaction, before the event was marked handled: the replay runs it again.
    await dispatcher.run(note, ticket);
    await dispatcher.run(note, ticket);
    assert.equal(t.h.messenger.calls.filter((c) => c.op === "react").length, 1);
    assert.ok(await t.h.store.ledger.get(`ack:${note.eventId}`), "the reaction is remembered, not only left to the homeserver's transaction ids");
  });

  it("waits when the ✅ is refused because the bot is out of the operators room, then renames and reacts once", async () => {
    const t = await opened();
    t.h.messenger.refusedRooms.add(OPS);
    const rename = t.h.message(OPS, OPERATOR, "!ho rename Printer on fire", { threadRoot: t.root });
    await assert.rejects(t.h.helpdesk.handle(rename), (e: unknown) => isHonoroitError(e) && e.code === "NOT_READY");
    t.h.messenger.refusedRooms.delete(OPS);
    assert.equal(await t.h.helpdesk.handle(rename), "handled");
    assert.equal(t.title(), "[OPEN] Printer on fire");
    assert.equal(t.h.messenger.calls.filter((c) => c.op === "edit").length, 1);
    assert.deepEqual(t.reactionsOn(rename.eventId), ["✅"]);
  });
});

describe("chat: unknown commands and the help", () => {
  it("names an unknown command, suggests the closest one for a typo, then shows the help", async () => {
    const t = await opened();
    for (const [typed, guess] of [["renmae", "rename"], ["DNOE", "done"], ["cnofig", "config"], ["clsoe", "close"], ["nte", "note"], ["frobnicate", undefined], ["x", undefined], ["hi", undefined]] as const) {
      const before = t.h.messenger.calls.length;
      await t.say(`!ho ${typed} something`);
      const [reply, ...more] = t.noticesSince(before);
      assert.ok(reply !== undefined, typed);
      assert.deepEqual(more, [], typed);
      const [first, blank, heading] = reply.body.split("\n");
      assert.equal(first, `\`!ho ${typed}\` is not a command.${guess === undefined ? "" : ` Did you mean \`!ho ${guess}\`?`}`, typed);
      assert.equal(blank, "");
      assert.equal(heading, "Commands (send them in the operators room):");
      assert.equal(reply.threadRoot, t.root, "the answer is in the thread it came from");
      assert.ok(reply.html?.startsWith(`<p><code>!ho ${typed}</code> is not a command.`), typed);
    }
  });

  it("shows an unknown name safely: escaped in HTML, cut when long", async () => {
    const t = await opened();
    await t.say(`!ho <b>${"y".repeat(60)}`);
    const reply = t.h.messenger.sentTo(OPS).at(-1);
    assert.ok(reply?.body.startsWith(`\`!ho <b>${"y".repeat(36)}…\` is not a command.\n`), reply?.body);
    assert.ok(reply?.html?.startsWith(`<p><code>!ho &#60;b&#62;${"y".repeat(36)}…</code> is not a command.</p>`), reply?.html);
  });

  it("answers `help` and the bare prefix with the help in plain text and HTML, from the command table", async () => {
    const t = await opened();
    for (const text of ["!ho help", "!ho"]) {
      const before = t.h.messenger.calls.length;
      await t.say(text);
      const [help] = t.noticesSince(before);
      assert.ok(help !== undefined, text);
      assert.equal(help.msgtype, "m.notice");
      const lines = help.body.split("\n");
      assert.equal(lines[0], "Commands (send them in the operators room):", text);
      assert.ok(lines.includes("- `!ho done` (also complete, close): close this request: the customer is told, the thread is marked done, the bot leaves their room (in an open request's thread)"), text);
      assert.ok(lines.includes("- `!ho config [KEY [VALUE]]`: list the options, show one, or set one (setting one needs power level 50, option power.level)"), text);
      assert.ok(lines.includes("- `!ho help`: this list of commands"), text);
      const html = help.html ?? "";
      assert.ok(html.startsWith("<p>Commands (send them in the operators room):</p><ul><li><code>!ho done</code> (also <code>complete</code>, <code>close</code>): close this request"), html);
      assert.ok(html.includes("<li><code>!ho rename TEXT</code>: change this thread&#39;s title to TEXT, keeping its open or done prefix ([OPEN] TEXT) <em>(in a request&#39;s thread)</em></li>"), html);
      assert.ok(html.includes("<li><code>!ho start MXID</code>: start a request with MXID: the bot opens a direct chat with them and a thread here <em>(it needs power level 50, option power.level)</em></li>"), html);
      assert.ok(html.endsWith("<li><code>!ho help</code>: this list of commands</li></ul>"), html);
      assert.ok(!help.body.includes("is not a command"), text);
    }
  });

  it("leaves the power level out of the help when every member may run everything", async () => {
    const t = await opened();
    await t.h.deps.options.set("power.level", "0");
    await t.say("!ho help");
    const help = t.h.messenger.sentTo(OPS).at(-1);
    assert.ok(!help?.body.includes("power level"));
    assert.ok(!help?.html?.includes("power level"));
  });
});

describe("chat: prefixedTitle", () => {
  const cases: readonly (readonly [typed: string, prefix: string, title: string | undefined])[] = [
    ["Printer on fire", "[OPEN]", "[OPEN] Printer on fire"],
    ["  Printer on fire  ", "[OPEN]", "[OPEN] Printer on fire"],
    ["[OPEN] Printer", "[OPEN]", "[OPEN] Printer"],
    ["[open]Printer", "[OPEN]", "[OPEN] Printer"],
    ["[DONE] Printer", "[OPEN]", "[OPEN] Printer"],
    ["[OPEN] Printer", "[DONE]", "[DONE] Printer"],
    ["[OPEN] [OPEN] Printer", "[OPEN]", "[OPEN] [OPEN] Printer"],
    ["Printer [OPEN]", "[OPEN]", "[OPEN] Printer [OPEN]"],
    ["[OPEN]", "[OPEN]", undefined],
    ["  [DONE]  ", "[OPEN]", undefined],
  ];
  for (const [typed, prefix, title] of cases) {
    it(`${JSON.stringify(typed)} with ${prefix} → ${JSON.stringify(title)}`, () => {
      assert.equal(prefixedTitle(typed, prefix, ["[OPEN]", "[DONE]"]), title);
    });
  }

  it("matches a word prefix only as a whole word, and the longer of two prefixes first", () => {
    assert.equal(prefixedTitle("Tickets lost", "Ticket", ["Ticket", "Closed"]), "Ticket Tickets lost");
    assert.equal(prefixedTitle("ticket lost", "Ticket", ["Ticket", "Closed"]), "Ticket lost");
    assert.equal(prefixedTitle("[OPEN][DONE] lost", "[OPEN]", ["[OPEN]", "[OPEN][DONE]"]), "[OPEN] lost");
  });
});
