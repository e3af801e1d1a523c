// The sync pipeline under conditions a real Synapse will not produce on demand: a scripted
// homeserver with gaps, refusals, 5xx and 429, and handlers that fail or take their time.
// (End-to-end behaviour against Synapse is in test/e2e.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HonoroitError, isHonoroitError, RefusedError } from "../../src/core/errors.ts";
import type { IncomingEvent } from "../../src/core/events.ts";
import type { RoomId } from "../../src/core/ids.ts";
import { MatrixApi } from "../../src/adapters/matrix/api.ts";
import { SyncPipeline } from "../../src/adapters/matrix/sync-pipeline.ts";
import type { HandleResult } from "../../src/core/helpdesk.ts";
import { matrixError } from "./fake-homeserver.ts";
import type { FakeHomeserver, FakeResponse } from "./fake-homeserver.ts";
import { BOT, fake, inviteOf, Memory, msg, RecordingLogger, ROOM, syncServer, wait } from "./scripted.ts";

function pipeline(f: FakeHomeserver, state: Memory, logger = new RecordingLogger(), extra: { maxInFlight?: number; retryBaseMs?: number } = {}): SyncPipeline {
  return new SyncPipeline({ api: MatrixApi.create(f.url, "tok", { logger }), botUser: BOT, state, logger, ...extra });
}

type Handler = (e: IncomingEvent) => Promise<HandleResult | undefined>;

async function runUntil(sync: SyncPipeline, handler: Handler, done: () => boolean, limitMs = 10_000): Promise<void> {
  const controller = new AbortController();
  const running = sync.run(handler, controller.signal);
  const deadline = Date.now() + limitMs;
  try {
    while (!done()) {
      if (Date.now() > deadline) throw new Error("timed out");
      await wait(10);
    }
  } finally {
    controller.abort();
    await running;
  }
}

const handled = (seen: string[]): Handler => (e) => {
  seen.push(e.eventId);
  return Promise.resolve("handled");
};

describe("sync pipeline", () => {
  it("first start: only invites, no history; then the filtered long-poll from the saved token", async () => {
    const f = await syncServer({
      "": {
        status: 200,
        json: {
          next_batch: "s1",
          rooms: { invite: { "!a:fake": inviteOf("a") }, join: { [ROOM]: { timeline: { limited: true, prev_batch: "p0", events: [msg("$old", "history")] } } } },
        },
      },
      s1: { status: 200, json: { next_batch: "s2", rooms: { join: { [ROOM]: { timeline: { events: [msg("$new", "new")] } } } } } },
    });
    const state = new Memory();
    const seen: string[] = [];
    await runUntil(pipeline(f, state), handled(seen), () => state.savedTokens.includes("s2"));
    assert.deepEqual(seen, ["$inva", "$new"]);
    assert.equal(f.to(`/rooms/${ROOM}/messages`).length, 0, "no history is read on the first start");
    const [first, second] = f.to("/sync");
    assert.ok(first !== undefined && second !== undefined);
    assert.equal(first.query.get("timeout"), "0");
    assert.deepEqual((JSON.parse(first.query.get("filter") ?? "{}") as { room: { timeline: unknown } }).room.timeline, { limit: 0 });
    assert.equal(second.query.get("since"), "s1");
    assert.equal(second.query.get("filter"), "F1");
    assert.equal(second.query.get("timeout"), "30000");
    const uploaded = f.to(`/user/${BOT}/filter`)[0]?.body as { room: { timeline: unknown } } | undefined;
    assert.deepEqual(uploaded?.room.timeline, { limit: 100 }, "not_senders would make Synapse drop a room whose recent events are all the bot's");
  });

  it("the bot's own events are dropped on arrival", async () => {
    const own = { ...msg("$own", "a relay"), sender: BOT };
    const f = await syncServer({ s0: { status: 200, json: { next_batch: "s1", rooms: { join: { [ROOM]: { timeline: { events: [own, msg("$theirs", "hi")] } } } } } } });
    const state = new Memory();
    await state.setToken("s0");
    const seen: string[] = [];
    await runUntil(pipeline(f, state), handled(seen), () => state.savedTokens.includes("s1"));
    assert.deepEqual(seen, ["$theirs"]);
  });

  it("the next /sync is in flight while a slow event is handled; the position waits for it", async () => {
    const f = await syncServer({
      s0: { status: 200, json: { next_batch: "s1", rooms: { join: { [ROOM]: { timeline: { events: [msg("$slow", "slow")] } } } } } },
      s1: { status: 200, json: { next_batch: "s2", rooms: { join: { "!quiet:fake": { timeline: { events: [msg("$quick", "quick")] } } } } } },
    });
    const state = new Memory();
    await state.setToken("s0");
    const seen: string[] = [];
    let release = (): void => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const sync = pipeline(f, state);
    const controller = new AbortController();
    const running = sync.run(async (e) => {
      if (e.eventId === "$slow") await slow;
      seen.push(e.eventId);
      return "handled";
    }, controller.signal);
    while (!seen.includes("$quick")) await wait(5);
    assert.deepEqual(seen, ["$quick"], "the later batch's room did not wait for the slow room");
    assert.deepEqual(state.savedTokens, ["s0"], "nothing saved past the event still being handled");
    release();
    while (!state.savedTokens.includes("s2")) await wait(5);
    assert.deepEqual(state.savedTokens.slice(-1), ["s2"]);
    controller.abort();
    await running;
  });

  it("at debug level, a line for each handled event says where its time went", async () => {
    // Sent 300 ms before the homeserver answers; handling takes 500 ms more, which is not /sync time.
    const sent = { ...msg("$timed", "hello"), origin_server_ts: Date.now() - 300 };
    const f = await syncServer({ s0: { status: 200, json: { next_batch: "s1", rooms: { join: { [ROOM]: { timeline: { events: [sent] } } } } } } });
    const state = new Memory();
    await state.setToken("s0");
    const logger = new RecordingLogger(true);
    await runUntil(pipeline(f, state, logger), async () => {
      await wait(500);
      return "handled";
    }, () => state.savedTokens.includes("s1"));
    const line = logger.lines.find((l) => l.level === "debug" && l.message === "event handled");
    assert.ok(line !== undefined, `no "event handled" line: ${JSON.stringify(logger.lines)}`);
    const { event, result, syncedMs, queuedMs, handlingMs } = line.fields ?? {};
    assert.equal(event, "$timed");
    assert.equal(result, "handled");
    assert.ok(typeof handlingMs === "number" && handlingMs >= 490, `handlingMs ${String(handlingMs)}`);
    assert.ok(typeof queuedMs === "number" && queuedMs >= 0 && queuedMs < 1000, `queuedMs ${String(queuedMs)}`);
    assert.ok(typeof syncedMs === "number" && syncedMs >= 250 && syncedMs < 700, `syncedMs ${String(syncedMs)}: from its sending to the /sync answer`);
  });

  it("an event that must wait is retried in its room, in order, while other rooms go on; the position moves once it is handled", async () => {
    const other = "!other:fake";
    const f = await syncServer({
      s0: {
        status: 200,
        json: {
          next_batch: "s1",
          rooms: {
            invite: { "!inv:fake": inviteOf("inv") },
            join: {
              [ROOM]: { timeline: { events: [msg("$r1", "1"), msg("$wait", "x"), msg("$r2", "2")] } },
              [other]: { timeline: { events: [msg("$o1", "1"), { bogus: true }, msg("$o2", "2")] } },
            },
          },
        },
      },
    });
    const state = new Memory();
    await state.setToken("s0");
    const logger = new RecordingLogger();
    const log: string[] = [];
    const sync = pipeline(f, state, logger);
    let failures = 0;
    const captured: { health?: ReturnType<SyncPipeline["health"]> } = {};
    await runUntil(sync, (e) => {
      if (e.eventId === "$wait" && failures++ === 0) {
        return Promise.reject(new HonoroitError("NOT_READY", "the bot is not in the operators room"));
      }
      if (e.eventId === "$wait") captured.health = sync.health();
      log.push(e.eventId);
      return Promise.resolve("handled");
    }, () => state.savedTokens.includes("s1"));
    assert.deepEqual(log.filter((x) => x.startsWith("$r") || x === "$wait"), ["$r1", "$wait", "$r2"], "the room's order holds");
    assert.ok(log.indexOf("$o2") < log.indexOf("$wait"), "the other room did not wait");
    const waiting = captured.health?.waiting[0];
    assert.ok(waiting !== undefined, "the room showed as waiting");
    assert.equal(waiting.room, ROOM);
    assert.match(waiting.reason, /the bot is not in the operators room/);
    assert.deepEqual(sync.health().waiting, [], "nothing waits once it is handled");
    assert.deepEqual(state.savedTokens, ["s0", "s1"]);
    assert.ok(logger.lines.some((l) => l.level === "warn" && l.message.startsWith("a room waits; retrying in 1s") && l.fields?.["room"] === ROOM));
  });

  it("an invite back into a room is handled even while that room's own events wait for it", async () => {
    const ops = "!ops:fake";
    const f = await syncServer({
      s0: { status: 200, json: { next_batch: "s1", rooms: { join: { [ops]: { timeline: { events: [msg("$outside", "hello?")] } } } } } },
      s1: { status: 200, json: { next_batch: "s2", rooms: { invite: { [ops]: inviteOf("ops") } } } },
    });
    const state = new Memory();
    await state.setToken("s0");
    let joined = false;
    const seen: string[] = [];
    await runUntil(pipeline(f, state), (e) => {
      if (e.type === "invite") joined = true;
      else if (!joined) return Promise.reject(new HonoroitError("NOT_READY", "the bot cannot post in the operators room"));
      seen.push(e.eventId);
      return Promise.resolve("handled");
    }, () => state.savedTokens.includes("s2"));
    assert.deepEqual(seen, ["$invops", "$outside"], "the invite went first, then the waiting event, at once (not after its backoff)");
  });

  it("settled(room) resolves once everything received for the room so far is handled", async () => {
    const f = await syncServer({ s0: { status: 200, json: { next_batch: "s1", rooms: { join: { [ROOM]: { timeline: { events: [msg("$a", "a"), msg("$b", "b")] } } } } } } });
    const state = new Memory();
    await state.setToken("s0");
    const sync = pipeline(f, state);
    const seen: string[] = [];
    let settledAfter: string[] | undefined;
    await runUntil(sync, async (e) => {
      if (e.eventId === "$a") void sync.settled(ROOM).then(() => (settledAfter = [...seen]));
      await wait(20);
      seen.push(e.eventId);
      return "handled";
    }, () => settledAfter !== undefined);
    assert.deepEqual(settledAfter, ["$a", "$b"]);
    await sync.settled("!unknown:fake" as RoomId);
  });

  it("a gap is read forwards page by page from the previous position up to prev_batch, before the timeline", async () => {
    const f = await syncServer(
      { s0: { status: 200, json: { next_batch: "s1", rooms: { join: { [ROOM]: { timeline: { limited: true, prev_batch: "p9", events: [msg("$e5", "5")] } } } } } } },
      (req) => {
        if (req.path !== `/rooms/${ROOM}/messages`) return undefined;
        const from = req.query.get("from");
        if (from === "s0") return { status: 200, json: { chunk: [msg("$e1", "1"), msg("$e2", "2")], start: "s0", end: "t2" } };
        if (from === "t2") return { status: 200, json: { chunk: [], start: "t2", end: "t3" } };
        if (from === "t3") return { status: 200, json: { chunk: [msg("$e3", "3"), msg("$e4", "4")], start: "t3", end: "t4" } };
        return { status: 200, json: { chunk: [], start: from } };
      },
    );
    const state = new Memory();
    await state.setToken("s0");
    const seen: string[] = [];
    await runUntil(pipeline(f, state), handled(seen), () => state.savedTokens.includes("s1"));
    assert.deepEqual(seen, ["$e1", "$e2", "$e3", "$e4", "$e5"]);
    const pages = f.to(`/rooms/${ROOM}/messages`);
    assert.deepEqual(pages.map((r) => [r.query.get("dir"), r.query.get("from"), r.query.get("to")]), [
      ["f", "s0", "p9"],
      ["f", "t2", "p9"],
      ["f", "t3", "p9"],
      ["f", "t4", "p9"],
    ], "an empty page with an end is not the end");
    assert.deepEqual(JSON.parse(pages[0]?.query.get("filter") ?? "{}"), { lazy_load_members: true, not_senders: [BOT] });
  });

  it("a gap without prev_batch is read up to the first event of the timeline", async () => {
    const f = await syncServer(
      { s0: { status: 200, json: { next_batch: "s1", rooms: { join: { [ROOM]: { timeline: { limited: true, events: [msg("$e3", "3"), msg("$e4", "4")] } } } } } } },
      (req) => {
        if (req.path !== `/rooms/${ROOM}/messages`) return undefined;
        return { status: 200, json: { chunk: [msg("$e1", "1"), msg("$e2", "2"), msg("$e3", "3"), msg("$e4", "4")], start: "s0", end: "t9" } };
      },
    );
    const state = new Memory();
    await state.setToken("s0");
    const seen: string[] = [];
    await runUntil(pipeline(f, state), handled(seen), () => state.savedTokens.includes("s1"));
    assert.deepEqual(seen, ["$e1", "$e2", "$e3", "$e4"]);
    assert.equal(f.to(`/rooms/${ROOM}/messages`).length, 1);
  });

  it("a gap the homeserver will not show yet waits and shows in health; in a room the bot has left it is skipped with an error", async () => {
    const left = "!left:fake" as RoomId;
    let refusals = 0;
    const f = await syncServer(
      {
        s0: {
          status: 200,
          json: {
            next_batch: "s1",
            rooms: {
              join: { [ROOM]: { timeline: { limited: true, prev_batch: "p1", events: [msg("$e2", "2")] } } },
              leave: { [left]: { timeline: { limited: true, prev_batch: "p1", events: [msg("$l2", "2")] } } },
            },
          },
        },
      },
      (req) => {
        if (req.path === `/rooms/${left}/messages`) return matrixError(403, "M_FORBIDDEN", "not in room");
        if (req.path !== `/rooms/${ROOM}/messages`) return undefined;
        if (refusals++ < 1) return matrixError(403, "M_FORBIDDEN", "not yet");
        return { status: 200, json: { chunk: [msg("$e1", "1")], start: "s0" } };
      },
    );
    const state = new Memory();
    await state.setToken("s0");
    const logger = new RecordingLogger();
    const sync = pipeline(f, state, logger);
    const seen: string[] = [];
    let sawWaiting = false;
    await runUntil(sync, handled(seen), () => {
      sawWaiting ||= sync.health().waiting.some((w) => w.room === ROOM && /missed events cannot be read yet: .*M_FORBIDDEN/.test(w.reason));
      return state.savedTokens.includes("s1");
    });
    assert.ok(sawWaiting, "the waiting gap showed in health()");
    assert.deepEqual(seen.filter((e) => e.startsWith("$e")), ["$e1", "$e2"]);
    assert.deepEqual(seen.filter((e) => e.startsWith("$l")), ["$l2"]);
    assert.equal(sync.health().skippedGaps, 1);
    const error = logger.lines.find((l) => l.level === "error");
    assert.match(error?.message ?? "", /events missed in a room cannot be read \(the bot is no longer in the room\)/);
    assert.equal(error?.fields?.["room"], left);
  });

  it("a quiet room's event does not wait behind another room's backlog", async () => {
    const flood = "!flood:fake";
    const events = Array.from({ length: 50 }, (_, i) => msg(`$f${i}`, `f${i}`));
    const f = await syncServer({
      s0: { status: 200, json: { next_batch: "s1", rooms: { join: { [flood]: { timeline: { events } } } } } },
      s1: { status: 200, json: { next_batch: "s2", rooms: { join: { [ROOM]: { timeline: { events: [msg("$quiet", "hello")] } } } } } },
    });
    const state = new Memory();
    await state.setToken("s0");
    const seen: string[] = [];
    await runUntil(pipeline(f, state, new RecordingLogger(), { maxInFlight: 1 }), async (e) => {
      await wait(5);
      seen.push(e.eventId);
      return "handled";
    }, () => state.savedTokens.includes("s2"));
    assert.equal(seen.length, 51);
    assert.ok(seen.indexOf("$quiet") < 10, `the quiet room's event came ${seen.indexOf("$quiet") + 1}th of 51`);
    assert.deepEqual(seen.filter((e) => e.startsWith("$f")), events.map((e) => e["event_id"]), "the flood stays in order");
  });

  it("stopping saves the position of what was handled, not of what was dropped", async () => {
    const f = await syncServer({
      s0: { status: 200, json: { next_batch: "s1", rooms: { join: { [ROOM]: { timeline: { events: [msg("$a", "a")] } } } } } },
      s1: { status: 200, json: { next_batch: "s2", rooms: { join: { [ROOM]: { timeline: { events: [msg("$never", "b")] } } } } } },
    });
    const state = new Memory();
    await state.setToken("s0");
    const controller = new AbortController();
    const seen: string[] = [];
    const running = pipeline(f, state).run((e) => {
      if (e.eventId === "$never") {
        controller.abort();
        return Promise.reject(Object.assign(new Error("stopping"), { name: "AbortError" }));
      }
      seen.push(e.eventId);
      return Promise.resolve("handled");
    }, controller.signal);
    await running;
    assert.deepEqual(seen, ["$a"]);
    assert.deepEqual(state.savedTokens, ["s0", "s1"]);
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
    await state.setToken("s0");
    const logger = new RecordingLogger();
    const sync = pipeline(f, state, logger);
    const controller = new AbortController();
    const seen: string[] = [];
    const running = sync.run(handled(seen), controller.signal);
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
  });

  it("a logged-out token stops the pipeline with BAD_CONFIG, saving nothing", async () => {
    const f = await syncServer({ s0: matrixError(401, "M_UNKNOWN_TOKEN", "Invalid access token passed.") });
    const state = new Memory();
    await state.setToken("s0");
    await assert.rejects(pipeline(f, state).run(() => Promise.resolve("handled")), (e: unknown) => isHonoroitError(e) && e.code === "BAD_CONFIG");
    assert.deepEqual(state.savedTokens, ["s0"]);
  });

  it("a refusal escaping the core as final is tried a few times, then skipped with an error", async () => {
    const f = await syncServer({ s0: { status: 200, json: { next_batch: "s1", rooms: { join: { [ROOM]: { timeline: { events: [msg("$bad", "x"), msg("$next", "y")] } } } } } } });
    const state = new Memory();
    await state.setToken("s0");
    const logger = new RecordingLogger();
    const seen: string[] = [];
    let attempts = 0;
    await runUntil(pipeline(f, state, logger, { retryBaseMs: 10 }), (e) => {
      if (e.eventId === "$bad") {
        attempts++;
        return Promise.reject(new RefusedError("M_BAD_JSON: nope", { errcode: "M_BAD_JSON", status: 400 }));
      }
      seen.push(e.eventId);
      return Promise.resolve("handled");
    }, () => state.savedTokens.includes("s1"));
    assert.equal(attempts, 5);
    assert.deepEqual(seen, ["$next"]);
    assert.ok(logger.lines.some((l) => l.level === "error" && l.message === "skipping an event that keeps failing" && l.fields?.["event"] === "$bad"));
  });
});
