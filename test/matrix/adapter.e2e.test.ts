// The Matrix adapter against a real Synapse (test/synapse/start.sh): login, idempotent sends,
// and the sync loop delivering what a customer's matrix-js-sdk client does, across restarts.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { EventType, MsgType, Preset, RelationType } from "matrix-js-sdk";
import type { MatrixClient } from "matrix-js-sdk";
import { isHonoroitError } from "../../src/core/errors.ts";
import type { IncomingEvent } from "../../src/core/events.ts";
import type { RoomId, UserId } from "../../src/core/ids.ts";
import type { Logger } from "../../src/core/ports.ts";
import { connectMatrix } from "../../src/adapters/matrix/connection.ts";
import type { MatrixConnection } from "../../src/adapters/matrix/connection.ts";
import { login, loginOnce, MATRIX_NAMESPACE } from "../../src/adapters/matrix/login.ts";
import { Method, path } from "../../src/adapters/matrix/api.ts";
import { SyncPipeline } from "../../src/adapters/matrix/sync-pipeline.ts";
import { openStore } from "../../src/adapters/storage/open-store.ts";
import type { Store } from "../../src/core/ports.ts";

/** A private in-memory SQLite store: the bot's session and sync position. */
async function memoryStore(): Promise<Store> {
  const store = await openStore({ dialect: "sqlite", dsn: ":memory:" });
  await store.migrate();
  return store;
}
import { bodyOf, roomHistory } from "../support/room-history.ts";
import { forwardExtremities, loginClient, registerUser, skipUnlessSynapse, stopClient, uniqueName, waitFor } from "../support/synapse.ts";
import type { RegisteredUser, SynapseEnv } from "../support/synapse.ts";

const PASSWORD = "correct horse battery staple";

/** Keeps every log line; prints warnings and errors when HONOROIT_TEST_VERBOSE is set. */
class RecordingLogger implements Logger {
  readonly lines: { level: string; message: string; fields: Record<string, unknown> | undefined }[] = [];
  debug(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: "debug", message, fields });
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: "info", message, fields });
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.record("warn", message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.record("error", message, fields);
  }
  private record(level: string, message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level, message, fields });
    if (process.env.HONOROIT_TEST_VERBOSE !== undefined) console.error(level, message, fields);
  }
}

const connections: MatrixConnection[] = [];
const clients: MatrixClient[] = [];
after(async () => {
  for (const c of connections) await c.close();
  for (const c of clients) stopClient(c);
});

async function connect(hs: SynapseEnv, localpart: string, store: Store, logger: Logger = new RecordingLogger()): Promise<MatrixConnection> {
  const conn = await connectMatrix({ homeserver: hs.url, login: localpart, password: PASSWORD, kv: store.kv, syncState: store.sync, logger });
  connections.push(conn);
  return conn;
}

/** Runs a connection's sync loop, recording what it delivers; `react` runs after recording. */
/** A new bot account logged in through the adapter, and a registered customer, alice. */
async function botAndAlice(hs: SynapseEnv): Promise<{ botName: string; aliceName: string; alice: RegisteredUser; store: Store; conn: MatrixConnection }> {
  const botName = uniqueName("bot");
  const aliceName = uniqueName("alice");
  await registerUser(hs, botName, PASSWORD);
  const alice = await registerUser(hs, aliceName, PASSWORD);
  const store = await memoryStore();
  return { botName, aliceName, alice, store, conn: await connect(hs, botName, store) };
}

function runLoop(conn: MatrixConnection, react?: (e: IncomingEvent) => Promise<void>): { events: IncomingEvent[]; stop(): Promise<void> } {
  const events: IncomingEvent[] = [];
  const controller = new AbortController();
  const done = conn.sync.run(async (e) => {
    events.push(e);
    await react?.(e);
  }, controller.signal);
  return {
    events,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("login", () => {
  it("password login twice keeps one device; a lost token logs in again on that device", async (t) => {
    const hs = skipUnlessSynapse(t);
    if (hs === undefined) return;
    const name = uniqueName("bot");
    await registerUser(hs, name, PASSWORD);
    const store = await memoryStore();
    const logger = new RecordingLogger();
    const options = { homeserver: hs.url, login: name, password: PASSWORD, kv: store.kv, logger };

    const first = await login(options);
    assert.equal(first.method, "password");
    assert.equal(first.userId, `@${name}:localhost`);
    assert.equal(await store.kv.get(MATRIX_NAMESPACE, "device_id"), first.deviceId);

    const second = await login(options);
    assert.equal(second.method, "saved", "the saved access token is reused");
    assert.equal(second.deviceId, first.deviceId);
    assert.equal(second.accessToken, first.accessToken);

    await store.kv.delete(MATRIX_NAMESPACE, "access_token");
    const third = await login({ ...options, login: `@${name}:localhost` });
    assert.equal(third.method, "password");
    assert.equal(third.deviceId, first.deviceId, "a new login reuses the saved device id");
    assert.notEqual(third.accessToken, first.accessToken);
  });

  it("with a data secret the saved token is sealed at rest; it is never sent to another homeserver", async (t) => {
    const hs = skipUnlessSynapse(t);
    if (hs === undefined) return;
    const name = uniqueName("bot");
    await registerUser(hs, name, PASSWORD);
    const store = await memoryStore();
    const options = { homeserver: hs.url, login: name, password: PASSWORD, kv: store.kv, logger: new RecordingLogger(), dataSecret: "0123456789abcdef0123456789abcdef" };

    const first = await login(options);
    const stored = (await store.kv.get(MATRIX_NAMESPACE, "access_token")) ?? "";
    assert.ok(!stored.includes(first.accessToken), "the database does not hold the token in clear");
    const second = await login(options);
    assert.equal(second.method, "saved");
    assert.equal(second.accessToken, first.accessToken);

    // Another secret cannot open it: a fresh login on the same device, not a crash.
    const other = await login({ ...options, dataSecret: "another secret of 32 bytes......" });
    assert.equal(other.method, "password");
    assert.equal(other.deviceId, first.deviceId);

    // The config now names another server: what it receives carries no saved token.
    const seen: string[] = [];
    const elsewhere = createServer((req, res) => {
      seen.push(`${req.method ?? ""} ${req.url ?? ""} ${req.headers.authorization ?? "-"}`);
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ errcode: "M_NOT_FOUND", error: "no" }));
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, "127.0.0.1", resolve));
    t.after(() => elsewhere.close());
    const port = (elsewhere.address() as AddressInfo).port;
    await assert.rejects(loginOnce({ ...options, homeserver: `http://127.0.0.1:${port}` }));
    assert.ok(seen.length > 0, "the other server was asked to log in");
    for (const request of seen) assert.ok(!request.includes(other.accessToken) && !request.includes("Bearer"), request);
  });

  it("a wrong password is a configuration error naming the user and the server's reason", async (t) => {
    const hs = skipUnlessSynapse(t);
    if (hs === undefined) return;
    const name = uniqueName("bot");
    await registerUser(hs, name, PASSWORD);
    await assert.rejects(
      loginOnce({ homeserver: hs.url, login: name, password: "wrong", kv: (await memoryStore()).kv, logger: new RecordingLogger() }),
      (e: unknown) => isHonoroitError(e) && e.code === "BAD_CONFIG" && e.message.startsWith(`login failed for ${name}: M_FORBIDDEN`),
    );
  });

  it("token login resolves user and device", async (t) => {
    const hs = skipUnlessSynapse(t);
    if (hs === undefined) return;
    const name = uniqueName("bot");
    const reg = await registerUser(hs, name, PASSWORD);
    const store = await memoryStore();
    const conn = await connectMatrix({ homeserver: hs.url, login: name, token: reg.accessToken, kv: store.kv, syncState: store.sync, logger: new RecordingLogger() });
    connections.push(conn);
    assert.equal(conn.userId, reg.userId);
    assert.equal(conn.deviceId, reg.deviceId);
    assert.equal(await store.kv.get(MATRIX_NAMESPACE, "device_id"), reg.deviceId);

    await assert.rejects(
      connectMatrix({ homeserver: hs.url, login: name, token: "not-a-token", kv: (await memoryStore()).kv, syncState: (await memoryStore()).sync, logger: new RecordingLogger() }),
      (e: unknown) => isHonoroitError(e) && e.code === "BAD_CONFIG",
    );
  });
});

describe("messenger", () => {
  it("the same key twice sends one event, also after logging in again on the same device", async (t) => {
    const hs = skipUnlessSynapse(t);
    if (hs === undefined) return;
    const { botName, alice, store, conn } = await botAndAlice(hs);

    const room = await conn.messenger.createDirectRoom(alice.userId as UserId, "start:1");
    assert.equal(await conn.messenger.createDirectRoom(alice.userId as UserId, "start:1"), room, "the same key finds the same room");
    const aliasState = await conn.api.requestObject(Method.Get, path`/rooms/${room}/state/m.room.canonical_alias/`);
    assert.deepEqual(aliasState, {}, "the key's alias is not advertised in the room");
    const direct = await conn.api.requestObject(Method.Get, path`/user/${conn.userId}/account_data/m.direct`);
    assert.deepEqual(direct[alice.userId], [room], "the room is in the bot's m.direct");
    assert.deepEqual(await conn.messenger.members(room), [conn.userId]);
    assert.deepEqual(new Set(await conn.messenger.members(room, true)), new Set([conn.userId, alice.userId]));

    const body = `once ${uniqueName("k")}`;
    const a = await conn.messenger.send(room, { msgtype: MsgType.Text, body }, "key-1");
    const b = await conn.messenger.send(room, { msgtype: MsgType.Text, body }, "key-1");
    assert.equal(b, a, "same key, same event");

    // A new access token on the same device (the saved token lost, as after a restore).
    await store.kv.delete(MATRIX_NAMESPACE, "access_token");
    const again = await connect(hs, botName, store);
    assert.equal(again.deviceId, conn.deviceId);
    const c = await again.messenger.send(room, { msgtype: MsgType.Text, body }, "key-1");
    assert.equal(c, a, "Synapse de-duplicates transaction ids per device, across access tokens");

    const d = await again.messenger.send(room, { msgtype: MsgType.Text, body }, "key-2");
    assert.notEqual(d, a);
    const reader = await connect(hs, botName, store);
    const history = await reader.api.requestObject(Method.Get, path`/rooms/${room}/messages`, { query: { dir: "b", limit: "50" } });
    const sent = (history["chunk"] as { content?: { body?: unknown } }[]).filter((e) => e.content?.body === body);
    assert.equal(sent.length, 2, "key-1 once, key-2 once");
  });

  it("60 messages sent at once into one room leave its event graph joined: at most 10 forward extremities", async (t) => {
    const hs = skipUnlessSynapse(t);
    if (hs === undefined) return;
    const { alice, conn } = await botAndAlice(hs);
    const admin = await registerUser(hs, uniqueName("admin"), PASSWORD, { admin: true });
    const room = await conn.messenger.createDirectRoom(alice.userId as UserId, "start:many");
    // Sent all at once, as when the bot catches up on many customers: every copy goes into the
    // operators room. Synapse builds each event on the room's 10 newest extremities only.
    const ids = await Promise.all(Array.from({ length: 60 }, (_, i) => conn.messenger.send(room, { msgtype: MsgType.Text, body: `copy ${i}` }, `many-${i}`)));
    assert.equal(new Set(ids).size, 60);
    const extremities = await forwardExtremities(hs, admin.accessToken, room);
    assert.ok(extremities <= 10, `${extremities} forward extremities: forks that no later event will join`);
  });

  it("edits, reactions, redactions, profiles; a refused request names the errcode", async (t) => {
    const hs = skipUnlessSynapse(t);
    if (hs === undefined) return;
    const { botName, aliceName, alice, conn } = await botAndAlice(hs);
    const room = await conn.messenger.createDirectRoom(alice.userId as UserId, "start:2");

    const root = await conn.messenger.send(room, { msgtype: MsgType.Text, body: "[OPEN] title", fields: { customer: alice.userId } }, "root");
    const reply = await conn.messenger.send(room, { msgtype: "m.notice", body: "in thread", threadRoot: root }, "reply");
    const edit = await conn.messenger.edit(room, root, { msgtype: MsgType.Text, body: "[DONE] title", mentions: [] }, "edit");
    const reaction = await conn.messenger.react(room, reply, "👍", "react");
    await conn.messenger.redact(room, reaction, "test", "redact");
    await conn.messenger.redact(room, reaction, "test", "redact");

    const history = await roomHistory(await loginClientFor(hs, botName), room);
    const byId = new Map(history.map((e) => [e.event_id, e]));
    assert.equal(byId.get(root)?.content["customer"], alice.userId);
    assert.deepEqual(byId.get(reply)?.content["m.relates_to"], { rel_type: "m.thread", event_id: root, is_falling_back: true, "m.in_reply_to": { event_id: root } });
    assert.equal(bodyOf(byId.get(edit)), "* [DONE] title");
    assert.ok(byId.get(reaction)?.unsigned?.["redacted_because"] !== undefined, "the reaction is redacted");
    assert.equal(history.filter((e) => e.type === "m.room.redaction").length, 1, "one redaction for one key");

    assert.deepEqual(await conn.messenger.profile(alice.userId as UserId), { displayname: aliceName });
    assert.deepEqual(await conn.messenger.profile("@nobody:localhost" as UserId), {});

    await assert.rejects(conn.messenger.join("!nowhere:localhost" as RoomId), /M_(FORBIDDEN|NOT_FOUND|UNKNOWN)/);
  });
});

async function loginClientFor(hs: SynapseEnv, name: string): Promise<MatrixClient> {
  const client = await loginClient(hs, name, PASSWORD);
  clients.push(client);
  return client;
}

describe("sync loop", () => {
  it("the very first start delivers pending invites and no history", async (t) => {
    const hs = skipUnlessSynapse(t);
    if (hs === undefined) return;
    const botName = uniqueName("bot");
    const aliceName = uniqueName("alice");
    const botReg = await registerUser(hs, botName, PASSWORD);
    await registerUser(hs, aliceName, PASSWORD);
    const alice = await loginClientFor(hs, aliceName);
    // History the bot can see (it was in the room), and a pending invite.
    const { room_id: seenRoom } = await alice.createRoom({ preset: Preset.PublicChat });
    const store = await memoryStore();
    const bot = await connect(hs, botName, store);
    await bot.messenger.join(seenRoom as RoomId);
    await alice.sendMessage(seenRoom, { msgtype: MsgType.Text, body: "before the bot ever synced" });
    const { room_id: invitedRoom } = await alice.createRoom({ is_direct: true, preset: Preset.TrustedPrivateChat, invite: [botReg.userId] });

    const loop = runLoop(bot);
    await waitFor(async () => (await store.sync.getToken()) ?? undefined, { what: "the first sync token" });
    await sleep(300);
    await loop.stop();
    assert.deepEqual(loop.events.map((e) => [e.type, e.room]), [["invite", invitedRoom]]);
  });

  it("delivers what a customer does, in order; resumes from the saved token; fills gaps", async (t) => {
    const hs = skipUnlessSynapse(t);
    if (hs === undefined) return;
    const botName = uniqueName("bot");
    const aliceName = uniqueName("alice");
    const carolName = uniqueName("carol");
    await registerUser(hs, botName, PASSWORD);
    await registerUser(hs, aliceName, PASSWORD);
    const carol = await registerUser(hs, carolName, PASSWORD);
    const store = await memoryStore();
    const logger = new RecordingLogger();

    // --- first start: nothing to replay; the invite arrives and the bot joins --------------
    const bot = await connect(hs, botName, store, logger);
    const loop1 = runLoop(bot, async (e) => {
      if (e.type === "invite") await bot.messenger.join(e.room);
    });
    await waitFor(async () => (await store.sync.getToken()) ?? undefined, { what: "the first sync token" });

    const alice = await loginClientFor(hs, aliceName);
    const { room_id: roomId } = await alice.createRoom({ is_direct: true, preset: Preset.TrustedPrivateChat, invite: [bot.userId] });
    const room = roomId as RoomId;
    const invite = await waitFor(() => loop1.events.find((e) => e.type === "invite" && e.room === room), { what: "the invite" });
    assert.equal(invite.sender, alice.getUserId());
    assert.ok(invite.type === "invite" && invite.isDirect);
    assert.ok(!invite.eventId.startsWith("$honoroit-invite-"), "Synapse sends the invite event itself, with its id");
    await waitFor(() => (alice.getRoom(roomId)?.getMember(bot.userId)?.membership === "join" ? true : undefined), {
      what: "the bot to join",
    });

    // --- the customer does things ---------------------------------------------------------
    const hello = (await alice.sendMessage(roomId, { msgtype: MsgType.Text, body: "hello" })).event_id;
    // With a thread id the SDK adds the thread relation, as a client with threads does.
    const threaded = (await alice.sendMessage(roomId, hello, { msgtype: MsgType.Text, body: "in a thread" })).event_id;
    const edit = (await alice.sendMessage(roomId, {
      msgtype: MsgType.Text,
      body: "* hello, edited",
      "m.new_content": { msgtype: MsgType.Text, body: "hello, edited" },
      "m.relates_to": { rel_type: RelationType.Replace, event_id: hello },
    })).event_id;
    const reaction = (await alice.sendEvent(roomId, EventType.Reaction, {
      "m.relates_to": { rel_type: RelationType.Annotation, event_id: threaded, key: "👍" },
    })).event_id;
    // Redacting before the bot has seen the reaction would hand it over already redacted (skipped).
    await waitFor(() => loop1.events.find((e) => e.eventId === reaction), { what: "the reaction" });
    const redaction = (await alice.redactEvent(roomId, reaction, undefined, { reason: "oops" })).event_id;
    await alice.invite(roomId, carol.userId);

    const fromAlice = (events: readonly IncomingEvent[]): IncomingEvent[] =>
      events.filter((e) => e.room === room && e.sender === alice.getUserId() && e.type !== "invite");
    await waitFor(() => fromAlice(loop1.events).find((e) => e.type === "membership" && e.user === carol.userId), { what: "carol's invite" });
    const start = fromAlice(loop1.events).findIndex((e) => e.eventId === hello);
    assert.ok(start >= 0, "hello delivered");
    const seen = fromAlice(loop1.events).slice(start).map((e) => simplify(e));
    assert.deepEqual(seen, [
      { type: "message", eventId: hello, body: "hello" },
      { type: "message", eventId: threaded, body: "in a thread", threadRoot: hello },
      { type: "edit", eventId: edit, target: hello, body: "hello, edited" },
      { type: "reaction", eventId: reaction, target: threaded, key: "👍" },
      { type: "redaction", eventId: redaction, target: reaction, reason: "oops" },
      { type: "membership", user: carol.userId, membership: "invite" },
    ]);
    assert.equal(bot.sync.health().homeserver, "ok");
    assert.ok(bot.sync.health().lastSyncAt instanceof Date);
    assert.deepEqual(loop1.events.filter((e) => e.type !== "invite" && e.sender === bot.userId), [], "the bot's own events are not fetched");

    // --- stopped: events meanwhile are delivered on restart, nothing twice ------------------
    await sleep(300);
    await loop1.stop();
    const delivered1 = new Set(loop1.events.map((e) => e.eventId));
    const whileStopped: string[] = [];
    for (const body of ["one", "two", "three"]) whileStopped.push((await alice.sendMessage(roomId, { msgtype: MsgType.Text, body })).event_id);

    const bot2 = await connect(hs, botName, store, logger);
    assert.equal(bot2.deviceId, bot.deviceId);
    const loop2 = runLoop(bot2);
    await waitFor(() => (fromAlice(loop2.events).length >= 3 ? true : undefined), { what: "the three messages sent while stopped" });
    await sleep(500);
    await loop2.stop();
    assert.deepEqual(fromAlice(loop2.events).map((e) => e.eventId), whileStopped);
    const twice = loop2.events.filter((e) => delivered1.has(e.eventId));
    assert.deepEqual(twice, [], "no event delivered twice");

    // --- 200 events while stopped: more than one timeline, the gap is filled -----------------
    const many: string[] = [];
    for (let i = 0; i < 200; i++) {
      many.push((await alice.sendMessage(roomId, { msgtype: MsgType.Text, body: `bulk ${i}` })).event_id);
    }
    const bot3 = await connect(hs, botName, store, logger);
    const loop3 = runLoop(bot3);
    await waitFor(() => (fromAlice(loop3.events).length >= 200 ? true : undefined), { what: "200 messages", timeoutMs: 30_000 });
    await sleep(500);
    await loop3.stop();
    assert.deepEqual(fromAlice(loop3.events).map((e) => e.eventId), many, "all 200, oldest first, once each");
    const gaps = logger.lines.filter((l) => l.message === "read a gap in a room's timeline" && l.fields?.["room"] === room);
    assert.ok(gaps.some((l) => Number(l.fields?.["events"]) >= 90), "the timeline was limited and backfilled");
    assert.deepEqual(logger.lines.filter((l) => l.level === "error"), []);
  });
});

/** The fields worth comparing, without timestamps. */
function simplify(e: IncomingEvent): Record<string, unknown> {
  switch (e.type) {
    case "message":
      return { type: e.type, eventId: e.eventId, body: e.content.body, ...(e.threadRoot === undefined ? {} : { threadRoot: e.threadRoot }) };
    case "edit":
      return { type: e.type, eventId: e.eventId, target: e.target, body: e.content.body };
    case "reaction":
      return { type: e.type, eventId: e.eventId, target: e.target, key: e.key };
    case "redaction":
      return { type: e.type, eventId: e.eventId, target: e.target, reason: e.reason };
    case "membership":
      return { type: e.type, user: e.user, membership: e.membership };
    default:
      return { type: e.type, eventId: e.eventId };
  }
}

describe("sync pipeline against Synapse", () => {
  it("an operator's message followed by a flood of the bot's own relays is delivered", async (t) => {
    // Synapse leaves a room out of a /sync answer when a timeline filter removes every recent
    // event it looks at (limit + 5 pages of 2 × limit): with `not_senders: [bot]` in the sync
    // filter, an operator's message followed by that many relays of the bot was never
    // delivered. A timeline limit of 10 makes the flood 111 events instead of 1,101.
    const hs = skipUnlessSynapse(t);
    if (hs === undefined) return;
    const { aliceName, store, conn } = await botAndAlice(hs);
    const operator = await loginClientFor(hs, aliceName);
    const { room_id: roomId } = await operator.createRoom({ preset: Preset.PrivateChat, invite: [conn.userId] });
    const room = roomId as RoomId;
    await conn.messenger.join(room);
    // A different long-poll each time: Synapse caches a /sync answer for its exact request for a
    // while, and would hand the second pipeline what the first one's cut-off request found.
    const start = (pollMs: number): { seen: string[]; stop: () => Promise<void> } => {
      const pipeline = new SyncPipeline({ api: conn.api, botUser: conn.userId, state: store.sync, logger: new RecordingLogger(), timelineLimit: 10, pollMs });
      const seen: string[] = [];
      const controller = new AbortController();
      const running = pipeline.run((e) => {
        if (e.type === "message") seen.push(e.content.body);
        return Promise.resolve("handled");
      }, controller.signal);
      return { seen, stop: async () => { controller.abort(); await running; } };
    };

    const first = start(1000);
    await operator.sendMessage(roomId, { msgtype: MsgType.Text, body: "before" });
    await waitFor(() => (first.seen.includes("before") ? true : undefined), { what: "the first message" });
    await first.stop();
    const position = await store.sync.getToken();

    await operator.sendMessage(roomId, { msgtype: MsgType.Text, body: "the reply" });
    // Eight at a time, as the bot relays for many customers at once.
    const flood = Array.from({ length: 130 }, (_, i) => i);
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = flood.shift(); i !== undefined; i = flood.shift()) await conn.messenger.send(room, { msgtype: MsgType.Text, body: `relay ${i}` }, `flood-${i}`);
    }));

    const second = start(2000);
    try {
      await waitFor(async () => ((await store.sync.getToken()) !== position ? true : undefined), { what: "a sync past the flood", timeoutMs: 30_000 });
      await waitFor(() => (second.seen.includes("the reply") ? true : undefined), { what: "the operator's message", timeoutMs: 10_000 });
    } finally {
      await second.stop();
    }
    assert.deepEqual(second.seen, ["the reply"], "once, and none of the bot's own");
  });
});
