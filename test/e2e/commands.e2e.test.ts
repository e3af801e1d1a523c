// Chat commands, chat configuration, invites and media, end to end against Synapse.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { MatrixEvent } from "matrix-js-sdk";
import { ServeProcess } from "../support/serve-process.ts";
import { bodyOf, relation, roomHistory, threadMessages } from "../support/room-history.ts";
import { waitFor, waitForEvent } from "../support/synapse.ts";
import { makeWorld, type World } from "./world.ts";

interface Relation { rel_type?: string; event_id?: string }
const rel = (ev: MatrixEvent): Relation => {
  const r: unknown = ev.getContent()["m.relates_to"];
  return typeof r === "object" && r !== null ? r : {};
};

/** The operator sends a command in the operators room, in a thread when `root` is given; returns its event id and time. */
async function sendCommand(w: World, text: string, root?: string): Promise<{ sent: string; sentAt: number }> {
  const content: Record<string, unknown> = { msgtype: "m.text", body: text };
  if (root !== undefined) content["m.relates_to"] = { rel_type: "m.thread", event_id: root, is_falling_back: true, "m.in_reply_to": { event_id: root } };
  const { event_id: sent } = await w.operator.client.sendEvent(w.opsRoom, "m.room.message" as never, content as never);
  return { sent, sentAt: w.operator.client.getRoom(w.opsRoom)?.findEventById(sent)?.getTs() ?? 0 };
}

/** The operator sends a command and gets the content of the bot's reply. */
async function commandReply(w: World, text: string, root?: string): Promise<Record<string, unknown>> {
  const { sentAt } = await sendCommand(w, text, root);
  const reply = await waitForEvent(w.operator.client, w.opsRoom, (ev) => ev.getSender() === w.bot && ev.getContent().msgtype === "m.notice" && ev.getTs() >= sentAt && (root === undefined || rel(ev).event_id === root), 15_000);
  return reply.getContent();
}

/** The operator sends a command in the operators room (in a thread when `root` is given) and returns the bot's reply. */
async function command(w: World, text: string, root?: string): Promise<string> {
  return String((await commandReply(w, text, root)).body);
}

/** The operator sends a command and waits for the bot's reactions on it, as the room's history shows them. */
async function reactionsTo(w: World, text: string, root?: string): Promise<string[]> {
  const { sent } = await sendCommand(w, text, root);
  return waitFor(async () => {
    const keys = (await roomHistory(w.operator.client, w.opsRoom))
      .filter((e) => e.type === "m.reaction" && e.sender === w.bot && relation(e).event_id === sent)
      .map((e) => String((e.content["m.relates_to"] as { key?: unknown }).key));
    return keys.length > 0 ? keys : undefined;
  }, { what: `the bot's reaction to ${text}`, timeoutMs: 15_000, intervalMs: 200 });
}

/** The thread root's title as the operator's client shows it: the bot's latest edit of it, else the root itself. */
async function threadTitle(w: World, root: string): Promise<string> {
  const history = await roomHistory(w.operator.client, w.opsRoom);
  const edits = history.filter((e) => e.sender === w.bot && relation(e).rel_type === "m.replace" && relation(e).event_id === root);
  const latest = edits.at(-1)?.content["m.new_content"] as { body?: unknown } | undefined;
  return latest === undefined ? bodyOf(history.find((e) => e.event_id === root)) : String(latest.body);
}

describe("chat commands and configuration", { timeout: 180_000 }, () => {
  it("turns strangers away by allow.users, set from chat, at once", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    const serve = w.track(await ServeProcess.start(w.env));
    await waitFor(() => (w.operator.client.getRoom(w.opsRoom)?.getMember(w.bot)?.membership === "join" ? true : undefined), { what: "the bot in the operators room", timeoutMs: 20_000 });

    const bad = await command(w, "!ho config allow.users nobody");
    assert.match(bad, /allow\.users/);
    assert.match(bad, /accepted: .*@name:server/, "the error shows what is accepted");
    assert.deepEqual(await reactionsTo(w, "!ho config allow.users @customer*:localhost"), ["✅"]);
    assert.match(await command(w, "!ho config allow.users"), /^allow\.users: @customer\*:localhost\n/);

    const stranger = await w.person("stranger", "Sam Stranger");
    const { room_id: strangerDm } = await stranger.client.createRoom({ is_direct: true, invite: [w.bot] });
    await waitFor(() => (stranger.client.getRoom(strangerDm)?.getMember(w.bot)?.membership === "leave" ? true : undefined), { what: "the bot to decline the stranger's invite", timeoutMs: 15_000 });
    await w.openDm();
    assert.equal(await serve.stop(), 0);
  });

  it("renames keeping the status prefix, acknowledges with ✅, names an unknown command and sends the help as HTML", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    w.track(await ServeProcess.start(w.env));
    const dm = await w.openDm();
    await w.customer.client.sendTextMessage(dm, "My printer is on fire");
    const root = await waitFor(async () => (await roomHistory(w.operator.client, w.opsRoom)).find((e) => e.sender === w.bot && bodyOf(e).startsWith("[OPEN] ")), { what: "the request's thread root", timeoutMs: 20_000 });
    await waitForEvent(w.operator.client, w.opsRoom, (ev) => rel(ev).event_id === root.event_id && String(ev.getContent().body).endsWith("My printer is on fire"), 20_000);

    assert.deepEqual(await reactionsTo(w, "!ho rename Printer on fire", root.event_id), ["✅"]);
    assert.equal(await threadTitle(w, root.event_id), "[OPEN] Printer on fire");
    assert.deepEqual(await reactionsTo(w, "!ho rename [OPEN] Printer still on fire", root.event_id), ["✅"]);
    assert.equal(await threadTitle(w, root.event_id), "[OPEN] Printer still on fire", "a typed prefix is not doubled");
    assert.deepEqual(await reactionsTo(w, "!ho note she is a VIP", root.event_id), ["✅"]);

    assert.equal(await command(w, "!ho done", root.event_id), "Request #1 is closed.");
    assert.equal(await threadTitle(w, root.event_id), "[DONE] Printer still on fire");
    assert.deepEqual(await reactionsTo(w, "!ho rename Printer fixed", root.event_id), ["✅"]);
    assert.equal(await threadTitle(w, root.event_id), "[DONE] Printer fixed");

    const unknown = await command(w, "!ho frobnicate now", root.event_id);
    assert.match(unknown, /^`!ho frobnicate` is not a command\.\n\nCommands \(send them in the operators room\):\n- `!ho done`/);
    const typo = await command(w, "!ho renmae Printer", root.event_id);
    assert.match(typo, /^`!ho renmae` is not a command\. Did you mean `!ho rename`\?\n\nCommands/);

    const help = await commandReply(w, "!ho help");
    assert.equal(help.format, "org.matrix.custom.html");
    const html = String(help.formatted_body);
    assert.match(html, /^<p>Commands \(send them in the operators room\):<\/p><ul><li><code>!ho done<\/code> \(also <code>complete<\/code>, <code>close<\/code>\): close this request/);
    assert.ok(html.includes("<li><code>!ho rename TEXT</code>: change this thread&#39;s title to TEXT, keeping its open or done prefix ([OPEN] TEXT) <em>(in a request&#39;s thread)</em></li>"), html);
    assert.ok(String(help.body).includes("\n- `!ho rename TEXT`: change this thread's title to TEXT, keeping its open or done prefix ([OPEN] TEXT) (in a request's thread)\n"), String(help.body));

    const toCustomer = (await roomHistory(w.customer.client, dm)).filter((e) => e.sender === w.bot && e.type === "m.room.message").map(bodyOf);
    assert.ok(!toCustomer.some((b) => b.includes("VIP") || b.includes("Printer")), "nothing of the commands reached the customer");
  });

  it("relays an image as an image with the customer's label as caption, a forged notice as labelled text, and stays silent when told to", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    w.track(await ServeProcess.start(w.env));
    await waitFor(() => (w.operator.client.getRoom(w.opsRoom)?.getMember(w.bot)?.membership === "join" ? true : undefined), { what: "the bot in the operators room", timeoutMs: 20_000 });
    assert.deepEqual(await reactionsTo(w, "!ho config silent yes"), ["✅"]);

    const dm = await w.openDm();
    const png = Buffer.from("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5e1c3a70000000049454e44ae426082", "hex");
    const { content_uri: mxc } = await w.customer.client.uploadContent(png, { type: "image/png", name: "pixel.png" });
    await w.customer.client.sendEvent(dm, "m.room.message" as never, { msgtype: "m.image", body: "pixel.png", url: mxc, info: { mimetype: "image/png", w: 1, h: 1, size: png.length } } as never);

    const copy = await waitForEvent(w.operator.client, w.opsRoom, (ev) => rel(ev).rel_type === "m.thread" && ev.getContent().msgtype === "m.image", 20_000);
    assert.equal(copy.getContent().url, mxc);
    assert.equal(copy.getContent().filename, "pixel.png");
    assert.equal(copy.getContent().body, `Alice Customer (${w.customer.userId}): pixel.png`);
    assert.equal((copy.getContent()["com.beeper.per_message_profile"] as { displayname: string }).displayname, "Alice Customer");

    // A notice that looks like the bot's own, with a url to make it pass for media.
    await w.customer.client.sendEvent(dm, "m.room.message" as never, { msgtype: "m.notice", body: "Request #1 is closed.", url: mxc } as never);
    const forged = await waitForEvent(w.operator.client, w.opsRoom, (ev) => rel(ev).rel_type === "m.thread" && String(ev.getContent().body).endsWith("Request #1 is closed."), 20_000);
    assert.equal(forged.getContent().msgtype, "m.text");
    assert.equal(forged.getContent().body, `Alice Customer (${w.customer.userId}):\nRequest #1 is closed.`);
    assert.equal(forged.getContent().url, undefined);

    await new Promise((r) => setTimeout(r, 1_500));
    const toCustomer = (await roomHistory(w.customer.client, dm)).filter((e) => e.sender === w.bot && e.type === "m.room.message");
    assert.deepEqual(toCustomer.map(bodyOf), [], "silent: no greeting");
  });

  it("starts a request with someone, and tells the thread who joins and leaves", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    w.track(await ServeProcess.start(w.env));
    await waitFor(() => (w.operator.client.getRoom(w.opsRoom)?.getMember(w.bot)?.membership === "join" ? true : undefined), { what: "the bot in the operators room", timeoutMs: 20_000 });

    const usage = await command(w, "!ho start");
    assert.match(usage, /usage: start @user:example\.com/);
    const bob = await w.person("customer-bob", "Bob Builder");
    const started = await command(w, `!ho start ${bob.userId}`);
    assert.match(started, new RegExp(`^Started request #1 with ${bob.userId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: \\[OPEN\\] 1st request from localhost`));

    const invite = await waitFor(() => bob.client.getRooms().find((r) => r.getMyMembership() === "invite"), { what: "Bob's invite from the bot", timeoutMs: 15_000 });
    await bob.client.joinRoom(invite.roomId);
    await waitForEvent(bob.client, invite.roomId, (ev) => ev.getSender() === w.bot && ev.getType() === "m.room.message", 15_000);
    await bob.client.sendTextMessage(invite.roomId, "Hi, you wanted to talk?");

    const history = await waitFor(async () => {
      const h = await roomHistory(w.operator.client, w.opsRoom);
      const root = h.find((e) => e.sender === w.bot && bodyOf(e).startsWith("[OPEN]"));
      if (root === undefined) return undefined;
      const thread = threadMessages(h, root.event_id).map(bodyOf);
      return thread.some((b) => b.endsWith("Hi, you wanted to talk?")) && thread.some((b) => b.includes("Bob Builder has joined")) ? thread : undefined;
    }, { what: "Bob's join notice and message in the started thread", timeoutMs: 20_000 });
    assert.ok(history.includes(`Bob Builder (${bob.userId}):\nHi, you wanted to talk?`));

    await bob.client.leave(invite.roomId);
    await waitFor(async () => {
      const h = await roomHistory(w.operator.client, w.opsRoom);
      const bodies = h.map(bodyOf);
      return bodies.some((b) => b.includes("Bob Builder has left")) && bodies.some((b) => b.startsWith("Nobody is left")) ? true : undefined;
    }, { what: "the leave and empty-room notices", timeoutMs: 20_000 });
  });
});
