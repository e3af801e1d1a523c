// `honoroit serve` end to end: the real binary, a real Synapse, matrix-js-sdk clients as the
// customer and the operator. Each assertion is what one of them would see.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { MatrixEvent } from "matrix-js-sdk";
import { optionDef } from "../../src/core/options.ts";
import { runCli, ServeProcess } from "../support/serve-process.ts";
import { bodyOf, roomHistory, threadMessages } from "../support/room-history.ts";
import { waitFor, waitForEvent } from "../support/synapse.ts";
import { makeWorld } from "./world.ts";

const defaultText = (key: "text.greetings" | "text.done"): string => optionDef(key).default;
interface Relation { rel_type?: string; event_id?: string; key?: string }
const rel = (ev: MatrixEvent): Relation => {
  const r: unknown = ev.getContent()["m.relates_to"] ?? ev.getWireContent()["m.relates_to"];
  return typeof r === "object" && r !== null ? r : {};
};

describe("honoroit serve against Synapse", { timeout: 180_000 }, () => {
  it("runs a request from the first message to done", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    const serve = w.track(await ServeProcess.start(w.env));
    await waitFor(() => (w.operator.client.getRoom(w.opsRoom)?.getMember(w.bot)?.membership === "join" ? true : undefined), {
      what: "the bot to join the operators room",
      timeoutMs: 20_000,
    });
    const dm = await w.openDm();

    // The customer writes; the operators see a new thread with the customer's message.
    const { event_id: customerMsg } = await w.customer.client.sendTextMessage(dm, "Hello, my printer is on fire");
    const root = await waitForEvent(w.operator.client, w.opsRoom, (ev) => ev.getSender() === w.bot && String(ev.getContent().body).startsWith("[OPEN]"), 20_000);
    assert.equal(root.getContent().body, `[OPEN] 1st request from localhost (1st by Alice Customer (${w.customer.userId}))`);
    assert.equal(root.getContent()["customer"], w.customer.userId);
    assert.equal(root.getContent()["homeserver"], "localhost");
    const rootId = root.getId() ?? "";

    const copy = await waitForEvent(w.operator.client, w.opsRoom, (ev) => rel(ev).rel_type === "m.thread" && rel(ev).event_id === rootId && String(ev.getContent().body).includes("printer"));
    assert.equal(copy.getContent().body, `Alice Customer (${w.customer.userId}):\nHello, my printer is on fire`);
    assert.equal(copy.getContent()["format"], "org.matrix.custom.html");
    assert.match(String(copy.getContent()["formatted_body"]), />Alice Customer<\/a>:<br>Hello, my printer is on fire$/);
    assert.deepEqual((copy.getContent()["com.beeper.per_message_profile"] as { id: string; displayname: string }).displayname, "Alice Customer");
    const copyId = copy.getId() ?? "";

    // The customer was greeted once.
    const greeting = await waitForEvent(w.customer.client, dm, (ev) => ev.getSender() === w.bot && ev.getType() === "m.room.message");
    assert.equal(greeting.getContent().body, defaultText("text.greetings"));
    assert.equal(greeting.getContent().msgtype, "m.notice");

    // The operator answers in the thread (replying to the copy); the customer sees the text alone.
    await w.operator.client.sendEvent(w.opsRoom, "m.room.message" as never, {
      msgtype: "m.text",
      body: "Hi Alice, we are on it",
      "m.relates_to": { rel_type: "m.thread", event_id: rootId, is_falling_back: false, "m.in_reply_to": { event_id: copyId } },
    } as never);
    const answer = await waitForEvent(w.customer.client, dm, (ev) => ev.getSender() === w.bot && ev.getContent().body === "Hi Alice, we are on it");
    assert.equal(answer.getContent().msgtype, "m.text");

    // The customer corrects her message; the operators see the copy edited.
    await w.customer.client.sendEvent(dm, "m.room.message" as never, {
      msgtype: "m.text",
      body: "* Hello, my printer is on fire!!",
      "m.new_content": { msgtype: "m.text", body: "Hello, my printer is on fire!!" },
      "m.relates_to": { rel_type: "m.replace", event_id: customerMsg },
    } as never);
    const edit = await waitForEvent(w.operator.client, w.opsRoom, (ev) => rel(ev).rel_type === "m.replace" && rel(ev).event_id === copyId);
    assert.match((edit.getContent()["m.new_content"] as { body: string }).body, /on fire!!$/);

    // The operator reacts to the copy; the customer sees the reaction on her own message.
    await w.operator.client.sendEvent(w.opsRoom, "m.reaction" as never, { "m.relates_to": { rel_type: "m.annotation", event_id: copyId, key: "👍" } } as never);
    const reaction = await waitForEvent(w.customer.client, dm, (ev) => ev.getType() === "m.reaction" && ev.getSender() === w.bot);
    assert.deepEqual({ target: rel(reaction).event_id, key: rel(reaction).key }, { target: customerMsg, key: "👍" });

    // The customer sends something and takes it back; the copy disappears from the thread too.
    const { event_id: oops } = await w.customer.client.sendTextMessage(dm, "my password is hunter2");
    const oopsCopy = await waitForEvent(w.operator.client, w.opsRoom, (ev) => String(ev.getContent().body).endsWith("my password is hunter2"));
    await w.customer.client.redactEvent(dm, oops);
    await waitFor(async () => {
      const history = await roomHistory(w.operator.client, w.opsRoom);
      const copyNow = history.find((e) => e.event_id === oopsCopy.getId());
      return copyNow !== undefined && copyNow.unsigned?.["redacted_because"] !== undefined ? true : undefined;
    }, { what: "the copy of the redacted message to be redacted" });

    // The open request counts at once in /metrics (not at the next periodic refresh).
    const whileOpen = await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text();
    assert.match(whileOpen, /^honoroit_tickets_open 1$/m);

    // A shell command reads the same store while serve runs.
    const listed = await runCli(["tickets", "list", "--json"], w.env);
    assert.equal(listed.code, 0, listed.stderr);
    const open = JSON.parse(listed.stdout) as { id: number; status: string; customer: string }[];
    assert.deepEqual(open.map((o) => [o.status, o.customer]), [["open", w.customer.userId]]);

    // Done: the customer is told, the title says done, the bot leaves.
    await w.operator.client.sendEvent(w.opsRoom, "m.room.message" as never, {
      msgtype: "m.text",
      body: "!ho done",
      "m.relates_to": { rel_type: "m.thread", event_id: rootId, is_falling_back: true, "m.in_reply_to": { event_id: rootId } },
    } as never);
    const done = await waitForEvent(w.customer.client, dm, (ev) => ev.getSender() === w.bot && ev.getContent().body === defaultText("text.done"));
    assert.equal(done.getContent().msgtype, "m.notice");
    const retitled = await waitForEvent(w.operator.client, w.opsRoom, (ev) => rel(ev).rel_type === "m.replace" && rel(ev).event_id === rootId);
    assert.equal((retitled.getContent()["m.new_content"] as { body: string }).body, `[DONE] 1st request from localhost (1st by Alice Customer (${w.customer.userId}))`);
    await waitFor(() => (w.customer.client.getRoom(dm)?.getMember(w.bot)?.membership === "leave" ? true : undefined), { what: "the bot to leave the customer's room" });

    // A later message in the closed thread gets a clear notice and goes nowhere.
    await w.operator.client.sendEvent(w.opsRoom, "m.room.message" as never, {
      msgtype: "m.text",
      body: "are you still there?",
      "m.relates_to": { rel_type: "m.thread", event_id: rootId, is_falling_back: true, "m.in_reply_to": { event_id: rootId } },
    } as never);
    const closedNotice = await waitForEvent(w.operator.client, w.opsRoom, (ev) => ev.getSender() === w.bot && ev.getContent().msgtype === "m.notice" && /closed/.test(String(ev.getContent().body)));
    assert.equal(rel(closedNotice).event_id, rootId);

    // Health and metrics on HONOROIT_PORT.
    const health = await fetch(`http://127.0.0.1:${w.port}/_health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, "ok");
    const metrics = await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text();
    assert.match(metrics, /^honoroit_request_new 1$/m);
    assert.match(metrics, /^honoroit_request_done 1$/m);
    assert.match(metrics, /^honoroit_messages_operator 1$/m);
    // Counted by homeserver; the customer's Matrix ID is not a label unless asked for.
    assert.match(metrics, /^honoroit_messages_customer\{source="matrix",domain="localhost"\} 2$/m);
    assert.ok(!metrics.includes(w.customer.userId));
    assert.match(metrics, /^honoroit_tickets_open 0$/m);
    assert.match(metrics, /^honoroit_relay_seconds_count\{direction="customer-to-thread"\} 2$/m);
    assert.match(metrics, /^honoroit_relay_seconds_count\{direction="operator-to-customer"\} 1$/m);
    assert.match(metrics, /^honoroit_sync_lag_seconds \d/m);
    assert.ok(serve.output.includes(`127.0.0.1:${w.port} (this machine only)`), "the log says where HTTP listens");

    const closed = await runCli(["tickets", "list", "--status", "closed", "--json"], w.env);
    assert.equal(closed.code, 0, closed.stderr);
    const [ticket] = JSON.parse(closed.stdout) as { status: string; closeReason: string; title: string }[];
    assert.equal(ticket?.closeReason, "operator");
    assert.match(ticket.title, /^\[DONE\] 1st request from localhost/);

    assert.equal(await serve.stop("SIGTERM"), 0, serve.output);
  });

  for (const database of ["sqlite", "postgres"] as const) {
    it(`relays each of 200 messages exactly once, in order, across a SIGKILL mid-burst (${database})`, async (t) => {
      const w = await makeWorld(t, { database });
      if (w === undefined) return;
      let serve = w.track(await ServeProcess.start(w.env));
      const dm = await w.openDm();
      const bodies = Array.from({ length: 200 }, (_, i) => `burst message ${String(i).padStart(3, "0")}`);
      let killedAfter = -1;
      let relayedAtKill = -1;
      for (const [i, body] of bodies.entries()) {
        await w.customer.client.sendTextMessage(dm, body);
        if (i === 60) {
          // Kill it while it is relaying, and keep sending while it is down.
          const history = await roomHistory(w.operator.client, w.opsRoom);
          relayedAtKill = history.filter((e) => bodyOf(e).includes("burst message")).length;
          await serve.stop("SIGKILL");
          killedAfter = i;
        }
      }
      assert.equal(killedAfter, 60);
      serve = w.track(await ServeProcess.start(w.env));

      const root = await waitFor(async () => {
        const history = await roomHistory(w.operator.client, w.opsRoom);
        const r = history.find((e) => e.sender === w.bot && bodyOf(e).startsWith("[OPEN]"));
        if (r === undefined) return undefined;
        return threadMessages(history, r.event_id).length >= bodies.length ? r : undefined;
      }, { what: "all 200 messages in the thread", timeoutMs: 120_000, intervalMs: 500 });
      const history = await roomHistory(w.operator.client, w.opsRoom);
      const relayed = threadMessages(history, root.event_id).map((e) => bodyOf(e).split("\n")[1]);
      assert.deepEqual(relayed, bodies, `each message once, in order (${relayedAtKill} were relayed when the bot was killed)`);
      assert.equal(history.filter((e) => e.sender === w.bot && bodyOf(e).startsWith("[OPEN]")).length, 1, "one thread");
      const greetings = (await roomHistory(w.customer.client, dm)).filter((e) => e.sender === w.bot && e.type === "m.room.message");
      assert.equal(greetings.length, 1, "one greeting");
      t.diagnostic(`${relayedAtKill} of 61 sent messages were relayed when serve was killed`);
      assert.equal(await serve.stop("SIGTERM"), 0);
    });
  }

  it("no secret reaches its log: password, metrics password, data secret, access token", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    const secrets = { HONOROIT_METRICS_LOGIN: "prometheus", HONOROIT_METRICS_PASSWORD: "metrics-pass-8c1f", HONOROIT_DATA_SECRET: "data-secret-of-32-bytes-5e9a7c1d" };
    const env: Record<string, string> = { ...w.env, ...secrets };
    const serve = w.track(await ServeProcess.start(env));
    await waitFor(() => (w.operator.client.getRoom(w.opsRoom)?.getMember(w.bot)?.membership === "join" ? true : undefined), { what: "the bot in the operators room", timeoutMs: 20_000 });
    const dm = await w.openDm();
    await w.customer.client.sendTextMessage(dm, "hello");
    await waitForEvent(w.operator.client, w.opsRoom, (ev) => rel(ev).rel_type === "m.thread" && String(ev.getContent().body).includes("hello"), 20_000);
    // A wrong metrics password, and a right one.
    const wrong = await fetch(`http://127.0.0.1:${w.port}/metrics`, { headers: { authorization: `Basic ${Buffer.from("prometheus:nope-1234").toString("base64")}` } });
    assert.equal(wrong.status, 401);
    const right = await fetch(`http://127.0.0.1:${w.port}/metrics`, { headers: { authorization: `Basic ${Buffer.from(`prometheus:${secrets.HONOROIT_METRICS_PASSWORD}`).toString("base64")}` } });
    assert.equal(right.status, 200);
    assert.equal(await serve.stop("SIGTERM"), 0);

    // The token the bot used, read back from its database with the data secret.
    const { openStore } = await import("../../src/adapters/storage/open-store.ts");
    const { TokenSeal } = await import("../../src/adapters/matrix/token-seal.ts");
    const store = await openStore(env.HONOROIT_DB_DIALECT === "postgres" ? { dialect: "postgres", dsn: env.HONOROIT_DB_DSN ?? "" } : { dialect: "sqlite", dsn: env.HONOROIT_DB_DSN ?? "" });
    const sealed = await store.kv.get("matrix", "access_token");
    await store.close();
    const token = new TokenSeal(secrets.HONOROIT_DATA_SECRET).open(sealed ?? "");
    assert.ok(token !== undefined && token.length > 10, "the token is sealed with the data secret");
    const log = serve.output;
    assert.ok(log.includes("logged in to Matrix"), "a debug log of a whole run");
    for (const [name, value] of Object.entries({ password: env.HONOROIT_PASSWORD ?? "", ...secrets, token, sealed: sealed ?? "" })) {
      if (name === "HONOROIT_METRICS_LOGIN") continue;
      assert.ok(!log.includes(value), `the log shows ${name}`);
    }
  });
});
