// Login and Messenger under failures a real Synapse will not produce on demand: rate limits,
// 5xx, dropped connections, a homeserver that is not there.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HonoroitError, isHonoroitError } from "../../src/core/errors.ts";
import { MatrixApi, MatrixRequestError } from "../../src/adapters/matrix/api.ts";
import { login, loginOnce, sharedSecretToken } from "../../src/adapters/matrix/login.ts";
import { MatrixMessenger, ROOM_SENDS_AT_ONCE, transactionId } from "../../src/adapters/matrix/messenger.ts";
import { matrixError } from "./fake-homeserver.ts";
import type { FakeResponse } from "./fake-homeserver.ts";
import type { EventId, RoomId, UserId } from "../../src/core/ids.ts";
import { BOT, deadUrl, fake, Memory, RecordingLogger, ROOM, wait } from "./scripted.ts";

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

  it(`has at most ${ROOM_SENDS_AT_ONCE} events on their way into one room at once, and other rooms do not wait for it`, async () => {
    const OTHER = "!other:fake" as RoomId;
    const inFlight = new Map<string, number>();
    const most = new Map<string, number>();
    const f = await fake(async (req) => {
      const room = req.path.split("/")[2] ?? "";
      inFlight.set(room, (inFlight.get(room) ?? 0) + 1);
      most.set(room, Math.max(most.get(room) ?? 0, inFlight.get(room) ?? 0));
      await wait(30);
      inFlight.set(room, (inFlight.get(room) ?? 0) - 1);
      return { status: 200, json: { event_id: `$${req.path.split("/").pop() ?? ""}` } };
    });
    const m = messenger(f.url);
    const sends = Array.from({ length: 25 }, (_, i) => m.send(ROOM, { msgtype: "m.text", body: `to the busy room ${i}` }, `busy-${i}`));
    const redactions = Array.from({ length: 5 }, (_, i) => m.redact(ROOM, `$target${i}` as EventId, undefined, `redact-${i}`));
    const elsewhere = Array.from({ length: 5 }, (_, i) => m.send(OTHER, { msgtype: "m.text", body: `elsewhere ${i}` }, `other-${i}`));
    const ids = await Promise.all([...sends, ...elsewhere]);
    await Promise.all(redactions);
    assert.equal(new Set(ids).size, 30, "every message sent, each once");
    assert.equal(most.get(ROOM), ROOM_SENDS_AT_ONCE, "the busy room never had more in flight (and did have that many)");
    assert.equal(most.get(OTHER), 5, "the other room's sends went at once, beside the busy room's");
    assert.equal(f.requests.filter((r) => r.path.startsWith(`/rooms/${ROOM}/redact/`)).length, 5);
  });

  it("a missing profile is {}", async () => {
    const f = await fake(() => matrixError(404, "M_NOT_FOUND", "Profile was not found"));
    assert.deepEqual(await messenger(f.url).profile("@ghost:fake" as UserId), {});
  });
});

