// End-to-end encryption end to end: the real binary against Synapse, a customer and an operator
// on matrix-js-sdk with Rust crypto, an encrypted direct chat and an encrypted operators room.
// What is asserted is what they read: decrypted text, once each, from one bot device.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { MatrixEvent } from "matrix-js-sdk";
import { cryptoClient, deviceIdsOf, encryptedDm, readableBodies, shownEvents, unreadable, waitForShown } from "../support/crypto-client.ts";
import { encryptedWorld, PASSWORD } from "../support/encrypted-world.ts";
import type { EncryptedWorld } from "../support/encrypted-world.ts";
import { optionDef } from "../../src/core/options.ts";
import { runCli } from "../support/serve-process.ts";
import { stopClient, waitFor } from "../support/synapse.ts";

interface Relation { rel_type?: string; event_id?: string }
const rel = (ev: MatrixEvent): Relation => {
  const r: unknown = ev.getContent()["m.relates_to"] ?? ev.getWireContent()["m.relates_to"];
  return typeof r === "object" && r !== null ? r : {};
};
const body = (ev: MatrixEvent): string => String(ev.getContent().body);

/** The bot's copies in the thread of `root`, as the operator reads them (the customer's text line). */
function threadCopies(w: EncryptedWorld, root: string): string[] {
  return shownEvents(w.operator.client, w.opsRoom)
    .filter((e) => e.getSender() === w.bot && !e.isDecryptionFailure() && e.getType() === "m.room.message" && rel(e).rel_type === "m.thread" && rel(e).event_id === root)
    .map((e) => body(e).split("\n")[1] ?? "")
    .filter((line) => line.startsWith("msg "));
}

async function operatorReplies(w: EncryptedWorld, root: string, text: string): Promise<void> {
  await w.operator.client.sendEvent(w.opsRoom, "m.room.message" as never, {
    msgtype: "m.text",
    body: text,
    "m.relates_to": { rel_type: "m.thread", event_id: root, is_falling_back: true },
  } as never);
}

describe("end-to-end encryption against Synapse", { timeout: 300_000 }, () => {
  it("relays both ways between an encrypted direct chat and an encrypted operators room, across a restart", async (t) => {
    const w = await encryptedWorld(t, "sqlite");
    if (w === undefined) return;
    let serve = await w.start();
    await waitFor(() => (w.operator.client.getRoom(w.opsRoom)?.getMember(w.bot)?.membership === "join" ? true : undefined), { what: "the bot to join the operators room", timeoutMs: 30_000 });
    const dm = await encryptedDm(w.customer, w.bot);

    await w.customer.client.sendTextMessage(dm, "msg 1: my printer is on fire");
    const root = await waitForShown(w.operator.client, w.opsRoom, (e) => e.getSender() === w.bot && body(e).startsWith("[OPEN]"), "the thread root, decrypted");
    const rootId = root.getId() ?? "";
    assert.ok(root.isEncrypted(), "the bot's post in the encrypted operators room is encrypted");
    await waitFor(() => (threadCopies(w, rootId).length === 1 ? true : undefined), { what: "the customer's message in the thread, decrypted", timeoutMs: 30_000 });
    assert.deepEqual(threadCopies(w, rootId), ["msg 1: my printer is on fire"]);

    await operatorReplies(w, rootId, "reply 1: we are on it");
    const reply = await waitForShown(w.customer.client, dm, (e) => e.getSender() === w.bot && body(e) === "reply 1: we are on it", "the operator's reply in the customer's chat, decrypted");
    assert.ok(reply.isEncrypted(), "the reply in the encrypted direct chat is encrypted");

    // A clean restart: the same device, the same thread.
    assert.equal(await serve.stop("SIGTERM"), 0);
    serve = await w.start();
    await w.customer.client.sendTextMessage(dm, "msg 2: still burning");
    await waitFor(() => (threadCopies(w, rootId).length === 2 ? true : undefined), { what: "the second message in the same thread", timeoutMs: 30_000 });
    assert.deepEqual(threadCopies(w, rootId), ["msg 1: my printer is on fire", "msg 2: still burning"]);
    await operatorReplies(w, rootId, "reply 2: fire brigade called");
    await waitForShown(w.customer.client, dm, (e) => e.getSender() === w.bot && body(e) === "reply 2: fire brigade called", "the reply after the restart, decrypted");

    assert.equal((await deviceIdsOf(w.customer.client, w.bot)).length, 1, "the bot kept one device");
    assert.equal(unreadable(w.customer.client, dm, w.bot), 0, "the customer can read everything the bot sent");
    assert.equal(unreadable(w.operator.client, w.opsRoom, w.bot), 0, "the operators can read everything the bot posted");
    assert.equal(await serve.stop("SIGTERM"), 0);
  });

  it("relays edits, reactions and redactions in encrypted rooms, and a customer's second device reads the next reply", async (t) => {
    const w = await encryptedWorld(t, "sqlite");
    if (w === undefined) return;
    const serve = await w.start();
    await waitFor(() => (w.operator.client.getRoom(w.opsRoom)?.getMember(w.bot)?.membership === "join" ? true : undefined), { what: "the bot to join the operators room", timeoutMs: 30_000 });
    const dm = await encryptedDm(w.customer, w.bot);
    const { event_id: first } = await w.customer.client.sendTextMessage(dm, "msg 1: the printer smokes");
    const root = await waitForShown(w.operator.client, w.opsRoom, (e) => e.getSender() === w.bot && body(e).startsWith("[OPEN]"), "the thread root");
    const rootId = root.getId() ?? "";
    const copy = await waitForShown(w.operator.client, w.opsRoom, (e) => e.getSender() === w.bot && rel(e).event_id === rootId && body(e).endsWith("msg 1: the printer smokes"), "the copy in the thread");
    const copyId = copy.getId() ?? "";

    // The customer corrects her message: the operators see the copy edited.
    await w.customer.client.sendEvent(dm, "m.room.message" as never, {
      msgtype: "m.text",
      body: "* msg 1: the printer smokes a lot",
      "m.new_content": { msgtype: "m.text", body: "msg 1: the printer smokes a lot" },
      "m.relates_to": { rel_type: "m.replace", event_id: first },
    } as never);
    const edit = await waitForShown(w.operator.client, w.opsRoom, (e) => e.getSender() === w.bot && rel(e).rel_type === "m.replace" && rel(e).event_id === copyId, "the copy edited");
    assert.ok(edit.isEncrypted());
    assert.match((edit.getContent()["m.new_content"] as { body: string }).body, /smokes a lot$/);

    // The operator reacts to the copy: the customer sees the reaction on her own message.
    await w.operator.client.sendEvent(w.opsRoom, "m.reaction" as never, { "m.relates_to": { rel_type: "m.annotation", event_id: copyId, key: "👀" } } as never);
    const reaction = await waitForShown(w.customer.client, dm, (e) => e.getSender() === w.bot && e.getType() === "m.reaction", "the reaction in the customer's chat");
    assert.deepEqual({ target: rel(reaction).event_id, key: (reaction.getRelation())?.key }, { target: first, key: "👀" });

    // She takes a message back: its copy is redacted too.
    const { event_id: oops } = await w.customer.client.sendTextMessage(dm, "msg 2: my password is hunter2");
    const oopsCopy = await waitForShown(w.operator.client, w.opsRoom, (e) => e.getSender() === w.bot && body(e).endsWith("msg 2: my password is hunter2"), "the copy of msg 2");
    await w.customer.client.redactEvent(dm, oops);
    await waitFor(() => (oopsCopy.isRedacted() ? true : undefined), { what: "the copy of the taken-back message to be redacted", timeoutMs: 30_000, intervalMs: 200 });

    // A second device of the customer's joins mid-request: it reads the bot's next reply.
    const second = await cryptoClient(w.hs, w.customer.localpart, PASSWORD);
    t.after(() => stopClient(second));
    await waitFor(async () => ((await deviceIdsOf(w.operator.client, w.customer.userId)).length === 2 ? true : undefined), { what: "the customer's second device to be known", timeoutMs: 30_000, intervalMs: 300 });
    await operatorReplies(w, rootId, "reply 1: unplug it now");
    const onSecond = await waitForShown(second, dm, (e) => e.getSender() === w.bot && body(e) === "reply 1: unplug it now", "the reply on the customer's second device", 45_000);
    assert.ok(onSecond.isEncrypted());
    assert.equal(await serve.stop("SIGTERM"), 0);

    // Closed from the shell with serve stopped: the command acts as the bot's device, encrypted.
    const closed = await runCli(["tickets", "close", "1"], w.env);
    assert.equal(closed.code, 0, closed.stderr);
    const done = await waitForShown(w.customer.client, dm, (e) => e.getSender() === w.bot && body(e) === optionDef("text.done").default, "the closing message, decrypted");
    assert.ok(done.isEncrypted(), "sent encrypted into the encrypted chat");
    assert.equal(unreadable(w.customer.client, dm, w.bot), 0);
  });

  for (const database of ["sqlite", "postgres"] as const) {
    it(`loses nothing and decrypts everything through SIGKILLs during encrypted traffic (${database})`, async (t) => {
      const w = await encryptedWorld(t, database);
      if (w === undefined) return;
      let serve = await w.start();
      // Killed right after its first keys upload: once its device keys are on the homeserver.
      await waitFor(async () => ((await deviceIdsOf(w.customer.client, w.bot)).length > 0 ? true : undefined), { what: "the bot's device keys on the homeserver", timeoutMs: 30_000, intervalMs: 200 });
      await serve.stop("SIGKILL");
      serve = await w.start();
      await waitFor(() => (w.operator.client.getRoom(w.opsRoom)?.getMember(w.bot)?.membership === "join" ? true : undefined), { what: "the bot to join the operators room", timeoutMs: 30_000 });
      const dm = await encryptedDm(w.customer, w.bot);

      const sent: string[] = [];
      const replies: string[] = [];
      await w.customer.client.sendTextMessage(dm, "msg 0");
      sent.push("msg 0");
      const root = await waitForShown(w.operator.client, w.opsRoom, (e) => e.getSender() === w.bot && body(e).startsWith("[OPEN]"), "the thread root", 60_000);
      const rootId = root.getId() ?? "";
      for (let i = 1; i <= 5; i++) {
        await w.customer.client.sendTextMessage(dm, `msg ${i}`);
        sent.push(`msg ${i}`);
        await operatorReplies(w, rootId, `reply ${i}`);
        replies.push(`reply ${i}`);
        await sleep([0, 100, 300, 700, 1500][i - 1] ?? 0);
        await serve.stop("SIGKILL");
        serve = await w.start();
      }

      await waitFor(() => (threadCopies(w, rootId).length >= sent.length && readableBodies(w.customer.client, dm, w.bot).filter((b) => b.startsWith("reply")).length >= replies.length ? true : undefined), {
        what: "every message and reply relayed and decrypted",
        timeoutMs: 120_000,
        intervalMs: 500,
      });
      await sleep(3000);
      assert.deepEqual([...threadCopies(w, rootId)].sort(), [...sent].sort(), "each customer message once in the thread");
      assert.deepEqual(readableBodies(w.customer.client, dm, w.bot).filter((b) => b.startsWith("reply")).sort(), [...replies].sort(), "each reply once to the customer");
      assert.equal(unreadable(w.customer.client, dm, w.bot), 0, "nothing undecryptable for the customer");
      assert.equal(unreadable(w.operator.client, w.opsRoom, w.bot), 0, "nothing undecryptable for the operators");
      assert.equal((await deviceIdsOf(w.customer.client, w.bot)).length, 1, "one bot device throughout");
      assert.equal(await serve.stop("SIGTERM"), 0);
    });
  }
});
