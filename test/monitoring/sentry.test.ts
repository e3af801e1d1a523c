// Sentry error reports against a local server that records each envelope.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { Scrubber } from "../../src/adapters/monitoring/scrub.ts";
import { parseSentryDsn, SentryReporter, stackFrames, type SentryReporterOptions } from "../../src/adapters/monitoring/sentry.ts";
import { MemoryLogger } from "../support/helpdesk-fixture.ts";
import { RecordingServer, type RecordedRequest } from "../support/recording-server.ts";

interface Envelope {
  header: Record<string, unknown>;
  item: Record<string, unknown>;
  event: {
    level?: string;
    platform?: string;
    release?: string;
    exception?: { values: { type: string; value: string; stacktrace?: { frames: { function?: string; filename: string; in_app: boolean }[] } }[] };
    message?: { formatted: string };
    extra?: Record<string, unknown>;
  };
}

function parseEnvelope(body: string): Envelope {
  const [header = "", item = "", payload = ""] = body.split("\n");
  const parsed = { header: JSON.parse(header) as Record<string, unknown>, item: JSON.parse(item) as Record<string, unknown>, event: JSON.parse(payload) as Envelope["event"] };
  assert.equal(parsed.item["length"], Buffer.byteLength(payload, "utf8"), "the item's length is its payload's");
  return parsed;
}

const PASSWORD = "correct horse battery staple";
const DATA_SECRET = "0123456789abcdef0123456789abcdef";
const TOKEN = "syt_aG9ub3JvaXQ_QmxhaEJsYWhCbGFo_1a2B3c";

describe("parseSentryDsn", () => {
  const table: [string, ReturnType<typeof parseSentryDsn>][] = [
    ["https://abc123@o42.ingest.sentry.io/4507", { envelopeUrl: "https://o42.ingest.sentry.io/api/4507/envelope/", publicKey: "abc123" }],
    ["https://abc:legacy@sentry.example.com/sub/path/7", { envelopeUrl: "https://sentry.example.com/sub/path/api/7/envelope/", publicKey: "abc", secretKey: "legacy" }],
    ["http://key@127.0.0.1:9000/1", { envelopeUrl: "http://127.0.0.1:9000/api/1/envelope/", publicKey: "key" }],
    ["https://sentry.example.com/1", undefined],
    ["https://key@sentry.example.com", undefined],
    ["not a url", undefined],
  ];
  for (const [dsn, expected] of table) {
    it(`${dsn} → ${expected?.envelopeUrl ?? "not a DSN"}`, () => assert.deepEqual(parseSentryDsn(dsn), expected));
  }
});

describe("stackFrames", () => {
  it("reads V8's stack lines, oldest call first, marking our own code in_app", () => {
    const stack = [
      "Error: boom",
      "    at inner (file:///srv/honoroit/dist/src/core/helpdesk.js:10:5)",
      "    at async Helpdesk.handle (/srv/honoroit/dist/src/core/helpdesk.js:20:7)",
      "    at Object.<anonymous> (/srv/honoroit/node_modules/pg/lib/client.js:1:2)",
      "    at node:internal/process/task_queues:95:5",
      "    at async Promise.all (index 0)",
    ].join("\n");
    assert.deepEqual(
      stackFrames(stack).map((f) => [f.function, f.filename, f.lineno, f.in_app]),
      [
        [undefined, "node:internal/process/task_queues", 95, false],
        ["Object.<anonymous>", "/srv/honoroit/node_modules/pg/lib/client.js", 1, false],
        ["async Helpdesk.handle", "/srv/honoroit/dist/src/core/helpdesk.js", 20, true],
        ["inner", "/srv/honoroit/dist/src/core/helpdesk.js", 10, true],
      ],
    );
  });
});

describe("Sentry reports", () => {
  let sentry: RecordingServer;
  let logger: MemoryLogger;
  const reporter = (extra: Partial<SentryReporterOptions> = {}): SentryReporter => {
    const target = parseSentryDsn(`http://publickey@${sentry.url.slice("http://".length)}/42`);
    assert.ok(target);
    return new SentryReporter({ target, sampleRate: 1, release: "honoroit@1.2.3", scrubber: new Scrubber([PASSWORD, DATA_SECRET]), logger, ...extra });
  };
  const only = (): RecordedRequest => {
    assert.equal(sentry.requests.length, 1, "one envelope");
    const r = sentry.requests[0];
    assert.ok(r);
    return r;
  };

  before(async () => {
    sentry = await RecordingServer.start();
  });
  after(() => sentry.close());
  beforeEach(() => {
    sentry.requests.length = 0;
    sentry.status = 200;
    sentry.headers = {};
    logger = new MemoryLogger();
  });

  it("sends an error as an envelope to the project's endpoint, with the DSN's key", async () => {
    const r = reporter();
    function failingStep(): never {
      throw new Error("the operators room is gone", { cause: new TypeError("cannot read properties of undefined") });
    }
    let error: unknown;
    try {
      failingStep();
    } catch (e) {
      error = e;
    }
    const id = r.capture({ level: "fatal", error });
    await r.flush(5_000);
    const req = only();
    assert.equal(req.method, "POST");
    assert.equal(req.path, "/api/42/envelope/");
    assert.equal(req.headers["content-type"], "application/x-sentry-envelope");
    assert.equal(req.headers["x-sentry-auth"], "Sentry sentry_version=7, sentry_client=honoroit/honoroit@1.2.3, sentry_key=publickey");
    const { header, item, event } = parseEnvelope(req.body);
    assert.equal(header["event_id"], id);
    assert.match(String(id), /^[0-9a-f]{32}$/);
    assert.equal(item["type"], "event");
    assert.equal(event.level, "fatal");
    assert.equal(event.platform, "node");
    assert.equal(event.release, "honoroit@1.2.3");
    assert.deepEqual(event.exception?.values.map((v) => [v.type, v.value]), [
      ["TypeError", "cannot read properties of undefined"],
      ["Error", "the operators room is gone"],
    ]);
    const frames = event.exception.values[1]?.stacktrace?.frames ?? [];
    assert.equal(frames.at(-1)?.function, "failingStep", "the throwing function is the last frame");
  });

  it("sends a logged error line with its fields; an Error field becomes the exception", async () => {
    const r = reporter();
    r.capture({ level: "error", message: "http request failed", fields: { path: "/metrics", error: new Error("socket hang up") } });
    r.capture({ level: "error", message: "the bot cannot join the operators room", fields: { room: "!ops:example.com", error: "M_FORBIDDEN" } });
    await r.flush(5_000);
    const [first, second] = sentry.requests.map((q) => parseEnvelope(q.body).event);
    assert.equal(first?.message?.formatted, "http request failed");
    assert.deepEqual(first.extra, { path: "/metrics" });
    assert.equal(first.exception?.values[0]?.value, "socket hang up");
    assert.equal(second?.message?.formatted, "the bot cannot join the operators room");
    assert.deepEqual(second.extra, { room: "!ops:example.com", error: "M_FORBIDDEN" });
    assert.equal(second.exception, undefined);
  });

  it("never sends a secret: configured ones, access tokens, passwords in URLs, credential fields", async () => {
    const r = reporter();
    const error = new Error(`login as bot with ${PASSWORD} failed at https://hs.example.com/_matrix/client/v3/sync?access_token=${TOKEN}`);
    r.capture({
      level: "error",
      message: `cannot seal with ${DATA_SECRET}; Authorization: Bearer ${TOKEN}`,
      error,
      fields: { dsn: "postgres://honoroit:pg-secret-99@db.example.com/honoroit", accessToken: TOKEN, nested: { password: "x", note: `token ${TOKEN}` }, url: "postgres://honoroit:pg-secret-99@db/h" },
    });
    await r.flush(5_000);
    const body = only().body;
    for (const secret of [PASSWORD, DATA_SECRET, TOKEN, "pg-secret-99"]) assert.ok(!body.includes(secret), `the envelope holds ${secret}`);
    const { event } = parseEnvelope(body);
    assert.equal(event.message?.formatted, "cannot seal with [redacted]; Authorization: Bearer [redacted]");
    assert.match(event.exception?.values[0]?.value ?? "", /^login as bot with \[redacted\] failed at https:\/\/hs\.example\.com\/_matrix\/client\/v3\/sync\?access_token=\[redacted\]$/);
    assert.deepEqual(event.extra, { dsn: "[redacted]", accessToken: "[redacted]", nested: { password: "[redacted]", note: "token [redacted]" }, url: "postgres://honoroit:[redacted]@db/h" });
  });

  it("sends the configured share of reports", async () => {
    const rolls = [0.1, 0.7, 0.49, 0.5];
    const r = reporter({ sampleRate: 0.5, random: () => rolls.shift() ?? 1 });
    const sent = [1, 2, 3, 4].map((n) => r.capture({ level: "error", message: `report ${n}` }));
    await r.flush(5_000);
    assert.deepEqual(sent.map((id) => id !== undefined), [true, false, true, false]);
    assert.deepEqual(sentry.requests.map((q) => parseEnvelope(q.body).event.message?.formatted), ["report 1", "report 3"]);
    const none = reporter({ sampleRate: 0 });
    none.capture({ level: "error", message: "never" });
    await none.flush(5_000);
    assert.equal(sentry.requests.length, 2, "a rate of 0 sends nothing");
  });

  it("sends at most the per-minute cap, and nothing while Sentry asks to wait (429 Retry-After)", async () => {
    let now = 1_000_000;
    const capped = reporter({ perMinute: 2, now: () => now });
    for (const n of [1, 2, 3]) capped.capture({ level: "error", message: `flood ${n}` });
    await capped.flush(5_000);
    assert.equal(sentry.requests.length, 2);
    assert.ok(logger.lines.some((l) => l.level === "warn" && /more than 2 error reports in a minute/.test(l.message)));
    now += 61_000;
    capped.capture({ level: "error", message: "a minute later" });
    await capped.flush(5_000);
    assert.equal(sentry.requests.length, 3);

    sentry.requests.length = 0;
    sentry.status = 429;
    sentry.headers = { "retry-after": "30" };
    const limited = reporter({ now: () => now });
    limited.capture({ level: "error", message: "rate limited" });
    await limited.flush(5_000);
    sentry.status = 200;
    assert.equal(limited.capture({ level: "error", message: "within the wait" }), undefined);
    now += 31_000;
    limited.capture({ level: "error", message: "after the wait" });
    await limited.flush(5_000);
    assert.deepEqual(sentry.requests.map((q) => parseEnvelope(q.body).event.message?.formatted), ["rate limited", "after the wait"]);
  });

  it("a report that cannot be delivered is a warning once, and never throws", async () => {
    sentry.status = 503;
    const r = reporter();
    r.capture({ level: "error", message: "one" });
    r.capture({ level: "error", message: "two" });
    await r.flush(5_000);
    const warned = logger.lines.filter((l) => l.level === "warn");
    assert.equal(warned.length, 1);
    assert.equal(warned[0]?.message, "an error report did not reach Sentry; the bot goes on");
    assert.equal(warned[0].fields?.["error"], "HTTP 503");
  });
});
