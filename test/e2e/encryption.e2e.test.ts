// End-to-end encryption end to end: the real binary against Synapse, a customer and an operator
// on matrix-js-sdk with Rust crypto, an encrypted direct chat and an encrypted operators room.
// What is asserted is what they read: decrypted text, once each, from one bot device.
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Preset } from "matrix-js-sdk";
import type { MatrixEvent } from "matrix-js-sdk";
import { cryptoPerson, deviceIdsOf, encryptedDm, MEGOLM, readableBodies, shownEvents, unreadable, waitForShown } from "../support/crypto-client.ts";
import type { CryptoPerson } from "../support/crypto-client.ts";
import { freshDatabase } from "../support/postgres.ts";
import { freePort, ServeProcess } from "../support/serve-process.ts";
import { registerUser, skipUnlessSynapse, stopClient, uniqueName, waitFor } from "../support/synapse.ts";
import type { SynapseEnv } from "../support/synapse.ts";

const PASSWORD = "e2e password that is long enough";

interface EncryptedWorld {
  readonly hs: SynapseEnv;
  readonly bot: string;
  readonly operator: CryptoPerson;
  readonly customer: CryptoPerson;
  readonly opsRoom: string;
  readonly env: Record<string, string>;
  start(): Promise<ServeProcess>;
}

async function encryptedWorld(t: TestContext, database: "sqlite" | "postgres"): Promise<EncryptedWorld | undefined> {
  const hs = skipUnlessSynapse(t);
  if (hs === undefined) return undefined;
  const serves: ServeProcess[] = [];
  const people: CryptoPerson[] = [];
  t.after(async () => {
    for (const s of serves) await s.stop("SIGKILL");
    for (const p of people) stopClient(p.client);
  });
  const botName = uniqueName("honoroit");
  const bot = (await registerUser(hs, botName, PASSWORD)).userId;
  const operator = await cryptoPerson(hs, "operator", "Olga Operator", PASSWORD);
  const customer = await cryptoPerson(hs, "customer", "Alice Customer", PASSWORD);
  people.push(operator, customer);
  const { room_id: opsRoom } = await operator.client.createRoom({ name: "Support", preset: Preset.PrivateChat, invite: [bot], initial_state: [MEGOLM] });
  const dir = await mkdtemp(path.join(tmpdir(), "honoroit-e2ee-"));
  let db: Record<string, string> = { HONOROIT_DB_DSN: path.join(dir, "honoroit.db") };
  if (database === "postgres") {
    const dsn = await freshDatabase(t);
    if (dsn === undefined) return undefined;
    db = { HONOROIT_DB_DIALECT: "postgres", HONOROIT_DB_DSN: dsn };
  }
  const env = {
    HONOROIT_HOMESERVER: hs.url,
    HONOROIT_LOGIN: botName,
    HONOROIT_PASSWORD: PASSWORD,
    HONOROIT_ROOMID: opsRoom,
    HONOROIT_DATA_SECRET: "an e2e data secret of 32 bytes!!",
    HONOROIT_PORT: String(await freePort()),
    HONOROIT_LOGLEVEL: "debug",
    ...db,
  };
  const start = async (): Promise<ServeProcess> => {
    const serve = await ServeProcess.start(env);
    serves.push(serve);
    return serve;
  };
  return { hs, bot, operator, customer, opsRoom, env, start };
}

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
