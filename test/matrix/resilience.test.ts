// Login, Messenger and SyncLoop under failures a real Synapse will not produce on demand:
// rate limits, 5xx, dropped connections, a homeserver that is not there, a crashing handler.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { HonoroitError, isHonoroitError } from "../../src/core/errors.ts";
import type { IncomingEvent } from "../../src/core/events.ts";
import type { RoomId, UserId } from "../../src/core/ids.ts";
import type { KeyValueStore, Logger, SyncState } from "../../src/core/ports.ts";
import { MatrixApi, MatrixRequestError } from "../../src/adapters/matrix/api.ts";
import { login, loginOnce, sharedSecretToken } from "../../src/adapters/matrix/login.ts";
import { MatrixMessenger, transactionId } from "../../src/adapters/matrix/messenger.ts";
import { SyncLoop } from "../../src/adapters/matrix/sync-loop.ts";
import { FakeHomeserver, matrixError } from "./fake-homeserver.ts";
import type { FakeRequest, FakeResponse } from "./fake-homeserver.ts";

class RecordingLogger implements Logger {
  readonly lines: { level: string; message: string; fields: Record<string, unknown> | undefined }[] = [];
  debug(): void {
    // not recorded
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: "info", message, fields });
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: "warn", message, fields });
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: "error", message, fields });
  }
  messages(level: string): string[] {
    return this.lines.filter((l) => l.level === level).map((l) => l.message);
  }
}

/** A typed in-memory KeyValueStore and SyncState that records every saved token. */
class Memory implements KeyValueStore, SyncState {
  readonly kv = new Map<string, string>();
  readonly savedTokens: string[] = [];
  kvGet(ns: string, key: string): Promise<string | undefined> {
    return Promise.resolve(this.kv.get(`${ns}/${key}`));
  }
  kvSet(ns: string, key: string, value: string): Promise<void> {
    this.kv.set(`${ns}/${key}`, value);
    return Promise.resolve();
  }
  kvDelete(ns: string, key: string): Promise<void> {
    this.kv.delete(`${ns}/${key}`);
    return Promise.resolve();
  }
  kvList(ns: string): Promise<ReadonlyMap<string, string>> {
    return Promise.resolve(new Map([...this.kv].filter(([k]) => k.startsWith(`${ns}/`)).map(([k, v]) => [k.slice(ns.length + 1), v])));
  }
  getSyncToken(): Promise<string | undefined> {
    return Promise.resolve(this.savedTokens.at(-1));
  }
  setSyncToken(token: string): Promise<void> {
    this.savedTokens.push(token);
    return Promise.resolve();
  }
}

const fakes: FakeHomeserver[] = [];
after(async () => {
  for (const f of fakes) await f.stop();
});
async function fake(route: (req: FakeRequest, f: FakeHomeserver) => FakeResponse | Promise<FakeResponse>): Promise<FakeHomeserver> {
  const f = await FakeHomeserver.start(route);
  fakes.push(f);
  return f;
}

/** A URL where nothing listens. */
async function deadUrl(): Promise<string> {
  const f = await FakeHomeserver.start(() => ({ status: 200 }));
  await f.stop();
  return f.url;
}

const BOT = "@bot:fake" as UserId;
const ROOM = "!room:fake" as RoomId;
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("login", () => {
  it("the CLI variant fails at once with UNREACHABLE", async () => {
    const url = await deadUrl();
    await assert.rejects(
      loginOnce({ homeserver: url, login: "bot", password: "pw", kv: new Memory(), logger: new RecordingLogger() }),
      (e: unknown) => isHonoroitError(e) && e.code === "UNREACHABLE" && e.message.includes(url),
    );
  });

  it("the serve variant retries with a warn line per attempt until aborted", async () => {
    const logger = new RecordingLogger();
    const signal = AbortSignal.timeout(1_500);
    await assert.rejects(login({ homeserver: await deadUrl(), login: "bot", password: "pw", kv: new Memory(), logger, signal }));
    assert.deepEqual(logger.messages("warn"), ["homeserver unreachable, retrying in 1s", "homeserver unreachable, retrying in 2s"]);
  });

  it("rides out a 502, then logs in", async () => {
    let calls = 0;
    const f = await fake((req) => {
      if (req.path !== "/login") return matrixError(404, "M_UNRECOGNIZED", "no");
      calls += 1;
      return calls === 1 ? { status: 502, json: {} } : { status: 200, json: { user_id: BOT, access_token: "t", device_id: "DEV" } };
    });
    const logger = new RecordingLogger();
    const session = await login({ homeserver: f.url, login: "bot", password: "pw", kv: new Memory(), logger });
    assert.equal(session.deviceId, "DEV");
    assert.deepEqual(logger.messages("warn"), ["homeserver unreachable, retrying in 1s"]);
  });

  it("a refused password is BAD_CONFIG with the server's words", async () => {
    const f = await fake(() => matrixError(403, "M_FORBIDDEN", "Invalid username or password"));
    await assert.rejects(
      loginOnce({ homeserver: f.url, login: "bot", password: "nope", kv: new Memory(), logger: new RecordingLogger() }),
      (e: unknown) => e instanceof HonoroitError && e.code === "BAD_CONFIG"
        && e.message === "login failed for bot: M_FORBIDDEN: Invalid username or password",
    );
  });

  it("shared secret: the devture login type with the HMAC token; the saved device is asked for again", async () => {
    let tokens = 0;
    const f = await fake((req) => {
      if (req.path === "/account/whoami") return matrixError(401, "M_UNKNOWN_TOKEN", "Unknown access token");
      tokens += 1;
      return { status: 200, json: { user_id: BOT, access_token: `t${tokens}`, device_id: "DEV" } };
    });
    const store = new Memory();
    const options = { homeserver: f.url, login: BOT, sharedSecret: "s3cret", kv: store, logger: new RecordingLogger() };
    const first = await login(options);
    const second = await login(options);
    assert.equal(first.method, "shared-secret");
    assert.equal(second.accessToken, "t2");
    const logins = f.to("/login").map((r) => r.body);
    const expected = {
      type: "com.devture.shared_secret_auth",
      identifier: { type: "m.id.user", user: BOT },
      token: sharedSecretToken(BOT, "s3cret"),
      initial_device_display_name: "Honoroit",
    };
    assert.deepEqual(logins, [expected, { ...expected, device_id: "DEV" }]);
    assert.equal(f.to("/account/whoami")[0]?.authorization, "Bearer t1", "the saved token was tried first");
  });

  it("configuration mistakes are BAD_CONFIG before any request", async () => {
    const kv = new Memory();
    const logger = new RecordingLogger();
    await assert.rejects(loginOnce({ homeserver: "http://127.0.0.1:9", login: "bot", sharedSecret: "s", kv, logger }), /full MXID/);
    await assert.rejects(loginOnce({ homeserver: "http://127.0.0.1:9", login: "bot", kv, logger }), /no Matrix credentials/);
  });
});

describe("messenger", () => {
  function messenger(url: string, maxAttempts = 10): MatrixMessenger {
    const logger = new RecordingLogger();
    return new MatrixMessenger(MatrixApi.create(url, "tok", { logger, maxAttempts }), BOT, logger);
  }

  it("transaction ids are derived from the key, stable and URL-safe", () => {
    assert.equal(transactionId("relay:$abc"), transactionId("relay:$abc"));
    assert.notEqual(transactionId("relay:$abc"), transactionId("relay:$abd"));
    assert.match(transactionId("relay:$abc"), /^ho[0-9a-f]{32}$/);
  });

  it("waits out a 429, a 500 and a dropped connection, resending the same transaction", async () => {
    const script: FakeResponse[] = [
      matrixError(429, "M_LIMIT_EXCEEDED", "Too many requests", { retry_after_ms: 30 }),
      { status: 500, json: {} },
      { drop: true },
      { status: 200, json: { event_id: "$sent" } },
    ];
    const f = await fake(() => script.shift() ?? { status: 500 });
    const id = await messenger(f.url).send(ROOM, { msgtype: "m.text", body: "hi" }, "k");
    assert.equal(id, "$sent");
    const paths = f.requests.map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(paths, Array(4).fill(`PUT /rooms/${ROOM}/send/m.room.message/${transactionId("k")}`));
    assert.equal(f.requests[0]?.authorization, "Bearer tok");
    assert.deepEqual(f.requests[0].body?.["m.mentions"], { user_ids: [] });
  });

  it("a 4xx is thrown at once with the errcode", async () => {
    const f = await fake(() => matrixError(403, "M_FORBIDDEN", "You are not invited to this room."));
    await assert.rejects(messenger(f.url).join(ROOM), (e: unknown) =>
      e instanceof MatrixRequestError && e.errcode === "M_FORBIDDEN" && e.message.includes("M_FORBIDDEN: You are not invited"));
    assert.equal(f.requests.length, 1);
  });

  it("gives up with UNREACHABLE after its attempts", async () => {
    const f = await fake(() => ({ status: 503, json: {} }));
    await assert.rejects(messenger(f.url, 2).leave(ROOM), (e: unknown) => isHonoroitError(e) && e.code === "UNREACHABLE");
    assert.equal(f.requests.length, 2);
  });

  it("a missing profile is {}", async () => {
    const f = await fake(() => matrixError(404, "M_NOT_FOUND", "Profile was not found"));
    assert.deepEqual(await messenger(f.url).profile("@ghost:fake" as UserId), {});
  });
});

/** A timeline event from alice. */
function msg(id: string, body: string): Record<string, unknown> {
  return { event_id: id, sender: "@alice:fake", origin_server_ts: 1, type: "m.room.message", content: { msgtype: "m.text", body } };
}
const inviteOf = (room: string): Record<string, unknown> => ({
  invite_state: { events: [{ type: "m.room.member", state_key: BOT, sender: "@alice:fake", event_id: `$inv${room}`, origin_server_ts: 1, content: { membership: "invite" } }] },
});

/** A fake whose /sync answers come from `batches` (keyed by `since`, "" for none); then empty polls. */
async function syncServer(batches: Record<string, FakeResponse>, other?: (req: FakeRequest) => FakeResponse | undefined, opts: { repeat?: boolean } = {}): Promise<FakeHomeserver> {
  const pending = new Map(Object.entries(batches));
  return fake(async (req) => {
    if (req.path === `/user/${BOT}/filter`) return { status: 200, json: { filter_id: "F1" } };
    if (req.path === "/sync") {
      const since = req.query.get("since") ?? "";
      const answer = pending.get(since);
      if (answer !== undefined) {
        // Like a homeserver: the same position gives the same batch again, when asked again.
        if (opts.repeat !== true) pending.delete(since);
        return answer;
      }
      await wait(20);
      return { status: 200, json: { next_batch: req.query.get("since") } };
    }
    return other?.(req) ?? matrixError(404, "M_UNRECOGNIZED", "no");
  });
}

function loop(f: FakeHomeserver, state: Memory, logger = new RecordingLogger()): SyncLoop {
  return new SyncLoop({ api: MatrixApi.create(f.url, "tok", { logger }), botUser: BOT, state, logger });
}

async function runUntil(sync: SyncLoop, handler: (e: IncomingEvent) => Promise<void>, done: () => boolean): Promise<void> {
  const controller = new AbortController();
  const running = sync.run(handler, controller.signal);
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await wait(10);
  }
  controller.abort();
  await running;
}

describe("sync loop", () => {
  it("first start: only invites, no history; then the filtered long-poll from the saved token", async () => {
    const f = await syncServer({
      "": {
        status: 200,
        json: {
          next_batch: "s1",
          rooms: { invite: { "!a:fake": inviteOf("a") }, join: { [ROOM]: { timeline: { events: [msg("$old", "history")] } } } },
        },
      },
      s1: { status: 200, json: { next_batch: "s2", rooms: { join: { [ROOM]: { timeline: { events: [msg("$new", "new")] } } } } } },
    });
    const state = new Memory();
    const seen: string[] = [];
    await runUntil(loop(f, state), (e) => {
      seen.push(e.eventId);
      return Promise.resolve();
    }, () => state.savedTokens.includes("s2"));
    assert.deepEqual(seen, ["$inva", "$new"]);
    const [first, second] = f.to("/sync");
    assert.ok(first !== undefined && second !== undefined);
    assert.equal(first.query.get("timeout"), "0");
    assert.deepEqual((JSON.parse(first.query.get("filter") ?? "{}") as { room: { timeline: unknown } }).room.timeline, { limit: 0 });
    assert.equal(second.query.get("since"), "s1");
    assert.equal(second.query.get("filter"), "F1");
    assert.equal(second.query.get("timeout"), "30000");
    const uploaded = f.to(`/user/${BOT}/filter`)[0]?.body as { room: { timeline: unknown } } | undefined;
    assert.deepEqual(uploaded?.room.timeline, { limit: 100, not_senders: [BOT] });
  });

  it("saves the token only after every handler of the batch is done; a failing handler fails the batch, which is handed over again", async () => {
    const other = "!other:fake";
    const f = await syncServer({
      s0: {
        status: 200,
        json: {
          next_batch: "s1",
          rooms: {
            invite: { "!inv:fake": inviteOf("inv") },
            join: {
              [ROOM]: { timeline: { events: [msg("$r1", "1"), msg("$boom", "x"), msg("$r2", "2")] } },
              [other]: { timeline: { events: [msg("$o1", "1"), { bogus: true }, msg("$o2", "2")] } },
            },
          },
        },
      },
    }, undefined, { repeat: true });
    const state = new Memory();
    await state.setSyncToken("s0");
    const logger = new RecordingLogger();
    const log: string[] = [];
    const original = state.setSyncToken.bind(state);
    state.setSyncToken = (token) => {
      log.push(`save ${token}`);
      return original(token);
    };
    let booms = 0;
    await runUntil(loop(f, state, logger), async (e) => {
      if (e.eventId === "$boom" && booms++ === 0) throw new Error("core failed");
      await wait(e.room === ROOM ? 30 : 5);
      log.push(e.eventId);
    }, () => state.savedTokens.includes("s1"));
    assert.equal(log.at(-1), "save s1");
    assert.equal(log.filter((x) => x.startsWith("save")).length, 1, "no position saved past the failed batch");
    assert.equal(log[0], "$invinv", "invites first");
    const firstTry = log.slice(0, log.indexOf("$invinv", 1));
    assert.deepEqual(firstTry.filter((x) => x.startsWith("$r")), ["$r1"], "the room stops at the failing event");
    assert.deepEqual(firstTry.filter((x) => x.startsWith("$o")), ["$o1", "$o2"], "other rooms run to their end");
    const secondTry = log.slice(log.indexOf("$invinv", 1));
    assert.deepEqual(secondTry.filter((x) => x.startsWith("$r") || x === "$boom"), ["$r1", "$boom", "$r2"], "the batch is handed over again");
    const failure = logger.lines.find((l) => l.level === "warn" && l.message === "handling an event failed");
    assert.equal(failure?.fields?.["event"], "$boom");
    assert.ok(logger.lines.some((l) => l.level === "error" && l.message.startsWith("handling a batch failed; it is synced and handled again in")));
  });

  it("a limited timeline is filled from /messages, oldest first, down to the previous token", async () => {
    const f = await syncServer(
      {
        s0: {
          status: 200,
          json: { next_batch: "s1", rooms: { join: { [ROOM]: { timeline: { limited: true, prev_batch: "p1", events: [msg("$e5", "5")] } } } } },
        },
      },
      (req) => {
        if (req.path !== `/rooms/${ROOM}/messages`) return undefined;
        const from = req.query.get("from");
        if (from === "p1") return { status: 200, json: { chunk: [msg("$e4", "4"), msg("$e3", "3")], start: "p1", end: "p2" } };
        if (from === "p2") return { status: 200, json: { chunk: [msg("$e2", "2"), msg("$e1", "1")], start: "p2", end: "p3" } };
        return { status: 200, json: { chunk: [], start: from } };
      },
    );
    const state = new Memory();
    await state.setSyncToken("s0");
    const seen: string[] = [];
    await runUntil(loop(f, state), (e) => {
      seen.push(e.eventId);
      return Promise.resolve();
    }, () => state.savedTokens.includes("s1"));
    assert.deepEqual(seen, ["$e1", "$e2", "$e3", "$e4", "$e5"]);
    const pages = f.to(`/rooms/${ROOM}/messages`);
    assert.deepEqual(pages.map((r) => [r.query.get("dir"), r.query.get("from"), r.query.get("to")]), [
      ["b", "p1", "s0"],
      ["b", "p2", "s0"],
      ["b", "p3", "s0"],
    ]);
  });

  it("an unreachable homeserver shows in health() and a warn line; a 429 is obeyed; it resumes by itself", async () => {
    const script: FakeResponse[] = [
      { status: 502, json: {} },
      matrixError(429, "M_LIMIT_EXCEEDED", "slow down", { retry_after_ms: 10 }),
      { status: 200, json: { next_batch: "s1", rooms: { join: { [ROOM]: { timeline: { events: [msg("$x", "x")] } } } } } },
    ];
    const f = await fake(async (req) => {
      if (req.path !== "/sync") return { status: 200, json: { filter_id: "F1" } };
      const next = script.shift();
      if (next !== undefined) return next;
      await wait(20);
      return { status: 200, json: { next_batch: req.query.get("since") } };
    });
    const state = new Memory();
    await state.setSyncToken("s0");
    const logger = new RecordingLogger();
    const sync = loop(f, state, logger);
    const controller = new AbortController();
    const seen: string[] = [];
    const running = sync.run((e) => {
      seen.push(e.eventId);
      return Promise.resolve();
    }, controller.signal);
    while (f.to("/sync").length < 1) await wait(5);
    await wait(50);
    assert.equal(sync.health().homeserver, "unreachable");
    assert.match(sync.health().lastError ?? "", /HTTP 502/);
    while (!state.savedTokens.includes("s1")) await wait(10);
    assert.equal(sync.health().homeserver, "ok");
    assert.ok(sync.health().lastSyncAt instanceof Date);
    controller.abort();
    await running;
    assert.deepEqual(logger.messages("warn"), ["homeserver unreachable, retrying in 1s", "homeserver rate limit on /sync, retrying in 1s"]);
    assert.ok(logger.messages("info").includes("homeserver reachable again"));
    assert.deepEqual(seen, ["$x"]);
    assert.deepEqual(state.savedTokens, ["s0", "s1"]);
  });

  it("a logged-out token stops the loop with BAD_CONFIG, saving nothing", async () => {
    const f = await syncServer({ s0: matrixError(401, "M_UNKNOWN_TOKEN", "Invalid access token passed.") });
    const state = new Memory();
    await state.setSyncToken("s0");
    await assert.rejects(loop(f, state).run(() => Promise.resolve()), (e: unknown) => isHonoroitError(e) && e.code === "BAD_CONFIG");
    assert.deepEqual(state.savedTokens, ["s0"]);
  });
});
