// Requests closing by themselves, encrypted rooms, and restarts, end to end against Synapse.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Method } from "matrix-js-sdk";
import { optionDef } from "../../src/core/options.ts";
import { runCli, ServeProcess } from "../support/serve-process.ts";
import { bodyOf, roomHistory, relation } from "../support/room-history.ts";
import { waitFor, waitForEvent } from "../support/synapse.ts";
import { makeWorld } from "./world.ts";

describe("request lifecycle", { timeout: 240_000 }, () => {
  it("closes a request idle longer than autoclose.after, telling the customer", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    // Set from the shell before serve starts: the same option a chat `!ho config` sets.
    assert.equal((await runCli(["migrate"], w.env)).code, 0);
    const set = await runCli(["config", "set", "autoclose.after", "1m"], w.env);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout.trim(), "autoclose.after = 1m");
    w.track(await ServeProcess.start(w.env));
    const dm = await w.openDm();
    await w.customer.client.sendTextMessage(dm, "I will go quiet now");
    const root = await waitForEvent(w.operator.client, w.opsRoom, (ev) => ev.getSender() === w.bot && String(ev.getContent().body).startsWith("[OPEN]"), 20_000);

    const closing = await waitForEvent(w.customer.client, dm, (ev) => ev.getSender() === w.bot && ev.getContent().body === optionDef("text.done.auto").default, 100_000);
    assert.equal(closing.getContent().msgtype, "m.notice");
    await waitFor(async () => {
      const history = await roomHistory(w.operator.client, w.opsRoom);
      return history.some((e) => relation(e).rel_type === "m.replace" && relation(e).event_id === root.getId() && bodyOf(e).includes("[DONE]")) ? true : undefined;
    }, { what: "the thread title marked done", timeoutMs: 10_000 });
    const listed = await runCli(["tickets", "list", "--status", "closed", "--json"], w.env);
    assert.equal((JSON.parse(listed.stdout) as { closeReason: string }[])[0]?.closeReason, "auto");
  });

  it("relays what a customer wrote before the bot joined (how clients open a direct chat)", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    w.track(await ServeProcess.start(w.env));
    const { room_id: dm } = await w.customer.client.createRoom({ is_direct: true, invite: [w.bot] });
    await w.customer.client.sendTextMessage(dm, "hello before you joined");
    const copy = await waitForEvent(w.operator.client, w.opsRoom, (ev) => String(ev.getContent().body).endsWith("\nhello before you joined"), 20_000);
    assert.equal(relation({ event_id: copy.getId() ?? "", type: "m.room.message", sender: w.bot, content: copy.getContent() }).rel_type, "m.thread");
  });

  it("with encryption turned off, warns a customer whose encrypted messages it cannot read", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    w.track(await ServeProcess.start({ ...w.env, HONOROIT_NOENCRYPTION: "true" }));
    const { room_id: dm } = await w.customer.client.createRoom({
      is_direct: true,
      invite: [w.bot],
      initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
    });
    await waitFor(() => (w.customer.client.getRoom(dm)?.getMember(w.bot)?.membership === "join" ? true : undefined), { what: "the bot to join", timeoutMs: 20_000 });
    // What an encrypting client sends; the bot has no keys for it.
    const encrypted = { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg", device_id: "CUSTOMERDEVICE", sender_key: "IlRMeOPX2e0MurIyfWEucYBRVOEEUMrOHqn/8mLqMjA", session_id: "X3lUlvLELLYxeTx4yOVu6UDpasGEVO0Jbu+QFnm0cKQ" };
    await w.customer.client.http.authedRequest(Method.Put, `/rooms/${encodeURIComponent(dm)}/send/m.room.encrypted/enc-${Date.now()}`, undefined, encrypted);
    const warning = await waitForEvent(w.customer.client, dm, (ev) => ev.getSender() === w.bot && ev.getType() === "m.room.message", 20_000);
    assert.equal(warning.getContent().body, optionDef("text.greetings.before.encryption").default);
  });

  it("keeps its device and relays on after a restart", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    let serve = w.track(await ServeProcess.start(w.env));
    const dm = await w.openDm();
    await w.customer.client.sendTextMessage(dm, "first");
    await waitForEvent(w.operator.client, w.opsRoom, (ev) => String(ev.getContent().body).endsWith("\nfirst"), 20_000);
    const device = /logged in to Matrix .*device=(\S+)/.exec(serve.output)?.[1];
    assert.ok(device !== undefined, serve.output);
    assert.equal(await serve.stop("SIGTERM"), 0);

    serve = w.track(await ServeProcess.start(w.env));
    assert.equal(/logged in to Matrix .*device=(\S+)/.exec(serve.output)?.[1], device, "the same device after a restart");
    await w.customer.client.sendTextMessage(dm, "second");
    await waitForEvent(w.operator.client, w.opsRoom, (ev) => String(ev.getContent().body).endsWith("\nsecond"), 20_000);
    const history = await roomHistory(w.operator.client, w.opsRoom);
    assert.equal(history.filter((e) => e.sender === w.bot && bodyOf(e).startsWith("[OPEN]")).length, 1, "the same request goes on");
    assert.equal(await serve.stop("SIGTERM"), 0);
  });
});
