// `honoroit tickets show`: a request and its transcript as an operator reads it from a shell,
// beside a running serve (it only reads); in an encrypted operators room, with serve's saved
// room keys.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bodyOf, roomHistory } from "../support/room-history.ts";
import { runCli, ServeProcess } from "../support/serve-process.ts";
import { waitFor } from "../support/synapse.ts";
import { makeWorld } from "./world.ts";
import { encryptedDm, waitForShown } from "../support/crypto-client.ts";
import { encryptedWorld } from "../support/encrypted-world.ts";

interface Shown {
  id: number;
  status: string;
  transcript: { role: string; author: string; text: string; internal: boolean }[];
}

describe("honoroit tickets show", { timeout: 180_000 }, () => {
  it("shows both sides in order, with authors, notes marked internal", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    const serve = w.track(await ServeProcess.start(w.env));
    const dm = await w.openDm();
    await w.customer.client.sendTextMessage(dm, "my printer is on fire");
    const root = await waitFor(async () => (await roomHistory(w.operator.client, w.opsRoom)).find((e) => e.sender === w.bot && e.content["customer"] === w.customer.userId)?.event_id, { what: "the thread", timeoutMs: 30_000 });
    // The copy of the first message is in the thread before anyone answers it.
    await waitFor(async () => ((await roomHistory(w.operator.client, w.opsRoom)).some((e) => e.sender === w.bot && bodyOf(e).endsWith("my printer is on fire")) ? true : undefined), { what: "the first copy", timeoutMs: 30_000 });
    const inThread = (body: string): Record<string, unknown> => ({ msgtype: "m.text", body, "m.relates_to": { rel_type: "m.thread", event_id: root, is_falling_back: true, "m.in_reply_to": { event_id: root } } });
    await w.operator.client.sendEvent(w.opsRoom, "m.room.message" as never, inThread("Please switch it off first.") as never);
    await waitFor(async () => ((await roomHistory(w.customer.client, dm)).some((e) => bodyOf(e) === "Please switch it off first.") ? true : undefined), { what: "the answer", timeoutMs: 30_000 });
    await w.operator.client.sendEvent(w.opsRoom, "m.room.message" as never, inThread("!ho note the fire brigade was called") as never);
    await w.customer.client.sendTextMessage(dm, "done, it is off");
    await waitFor(async () => ((await roomHistory(w.operator.client, w.opsRoom)).some((e) => bodyOf(e).endsWith("done, it is off")) ? true : undefined), { what: "the second copy", timeoutMs: 30_000 });

    const json = await runCli(["tickets", "show", "1", "--json"], w.env);
    assert.equal(json.code, 0, json.stderr);
    const shown = JSON.parse(json.stdout) as Shown;
    assert.equal(shown.status, "open");
    const said = shown.transcript.filter((l) => l.role !== "bot").map((l) => [l.role, l.author, l.text, l.internal]);
    assert.deepEqual(said, [
      ["customer", w.customer.userId, "my printer is on fire", false],
      ["operator", w.operator.userId, "Please switch it off first.", false],
      ["operator", w.operator.userId, "!ho note the fire brigade was called", true],
      ["customer", w.customer.userId, "done, it is off", false],
    ]);
    const text = await runCli(["tickets", "show", "#1"], w.env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^#1 open: \[OPEN\] /);
    assert.match(text.stdout, /\(operator, internal\): !ho note the fire brigade was called/);
    assert.match(text.stdout, /\(customer\): my printer is on fire/);

    const unknown = await runCli(["tickets", "show", "99"], w.env);
    assert.equal(unknown.code, 3);
    assert.match(unknown.stderr, /there is no request #99/);
    assert.equal(await serve.stop("SIGTERM"), 0);
  });

  it("reads an encrypted operators room with serve's saved keys, beside the running serve", async (t) => {
    const w = await encryptedWorld(t, "sqlite");
    if (w === undefined) return;
    const serve = await w.start();
    await waitFor(() => (w.operator.client.getRoom(w.opsRoom)?.getMember(w.bot)?.membership === "join" ? true : undefined), { what: "the bot to join the operators room", timeoutMs: 30_000 });
    const dm = await encryptedDm(w.customer, w.bot);
    await w.customer.client.sendTextMessage(dm, "my encrypted printer is on fire");
    const body = (e: { getContent(): Record<string, unknown> }): string => String(e.getContent()["body"]);
    const root = await waitForShown(w.operator.client, w.opsRoom, (e) => e.getSender() === w.bot && body(e).startsWith("[OPEN]"), "the thread root");
    const copy = await waitForShown(w.operator.client, w.opsRoom, (e) => e.getSender() === w.bot && body(e).endsWith("my encrypted printer is on fire"), "the copy");
    assert.ok(copy.isEncrypted(), "the operators room is encrypted");
    await w.operator.client.sendEvent(w.opsRoom, "m.room.message" as never, { msgtype: "m.text", body: "Unplug it, please.", "m.relates_to": { rel_type: "m.thread", event_id: root.getId(), is_falling_back: true } } as never);
    await waitForShown(w.customer.client, dm, (e) => e.getSender() === w.bot && body(e) === "Unplug it, please.", "the answer in the customer's chat");

    const json = await runCli(["tickets", "show", "1", "--json"], w.env);
    assert.equal(json.code, 0, json.stderr);
    const shown = JSON.parse(json.stdout) as Shown;
    assert.deepEqual(shown.transcript.filter((l) => l.role !== "bot").map((l) => [l.role, l.author, l.text, l.internal]), [
      ["customer", w.customer.userId, "my encrypted printer is on fire", false],
      ["operator", w.operator.userId, "Unplug it, please.", false],
    ]);
    // serve goes on with its device and keys untouched: the next message is relayed and readable.
    await w.customer.client.sendTextMessage(dm, "it is unplugged");
    await waitForShown(w.operator.client, w.opsRoom, (e) => e.getSender() === w.bot && body(e).endsWith("it is unplugged"), "the next copy");
    assert.equal(await serve.stop("SIGTERM"), 0);
  });
});
