// 8. The Redmine sync against the real Redmine of the tests. (1) HTTP requests to Redmine in an
// idle poll with 1,000 open requests, each with its issue; the Go bot's design asks once per
// open request. (2) Relay latency (customer → operators' thread, p50) of a bot with the sync on
// beside one with it off, samples interleaved.
import { randomBytes } from "node:crypto";
import type { MatrixEvent } from "matrix-js-sdk";
import { RedmineClient } from "../src/adapters/redmine/client.ts";
import { openStore } from "../src/adapters/storage/open-store.ts";
import { ProfileCache, type HelpdeskDeps } from "../src/core/deps.ts";
import type { RoomId, UserId } from "../src/core/ids.ts";
import { KeyedQueue } from "../src/core/keyed-queue.ts";
import { RuntimeOptions } from "../src/core/runtime-options.ts";
import { pollTracker } from "../src/core/usecases/tracker-poll.ts";
import { FakeMessenger } from "../test/support/fake-messenger.ts";
import { CountingMetrics, ManualClock, MemoryLogger } from "../test/support/helpdesk-fixture.ts";
import { redmineSettings as testRedmineSettings, type RedmineEnv } from "../test/support/redmine.ts";
import { sendText } from "../test/support/matrix-http.ts";
import { arrival, bodyOf, clientHasRoom, seen, threadOf } from "./observe.ts";
import { mapLimit, sleep } from "./pool.ts";
import { fmtMs, fmtRatio, type Row, type SectionResult } from "./report.ts";
import { ratio, round, spread } from "./stats.ts";
import { BenchWorld, type BenchContext } from "./world.ts";

export const IDLE_REQUESTS_TARGET = 2;
export const RELAY_RATIO_TARGET = 1.1;

function redmineFromEnv(): RedmineEnv {
  const get = (name: string): string => process.env[name]?.trim() ?? "";
  const env = { url: get("HONOROIT_TEST_REDMINE_URL"), botKey: get("HONOROIT_TEST_REDMINE_KEY"), humanKey: get("HONOROIT_TEST_REDMINE_HUMAN_KEY"), project: get("HONOROIT_TEST_REDMINE_PROJECT") };
  if (Object.values(env).some((v) => v === "")) throw new Error("no Redmine: run test/redmine/setup.sh && test/redmine/start.sh and export what it prints");
  return env;
}

/** Requests per idle poll with `open` open requests linked to real issues. */
async function idleCycle(ctx: BenchContext, rm: RedmineEnv, open: number): Promise<{ perIdleCycle: number; setupS: number }> {
  const started = performance.now();
  let requests = 0;
  const client = new RedmineClient(
    { host: rm.url, apiKey: rm.botKey, project: rm.project, trackerId: 3, newStatusId: 1, inProgressStatusId: 2, doneStatusId: 5 },
    { onRequest: () => requests++ },
  );
  const store = await openStore({ dialect: "sqlite", dsn: `${ctx.dir}/redmine-idle.db` });
  try {
    await store.migrate();
    const clock = new ManualClock(new Date());
    const logger = new MemoryLogger();
    const messenger = new FakeMessenger("@bench:example.com" as UserId);
    const options = new RuntimeOptions(store.options, logger);
    await options.load();
    const deps: HelpdeskDeps = {
      store, messenger, options, clock, logger, metrics: new CountingMetrics(), operatorsRoom: "!ops:example.com" as RoomId, prefix: "!ho",
      encryptionWarning: false, profiles: new ProfileCache(messenger, 100), rooms: new KeyedQueue(), inbox: { settled: () => Promise.resolve() }, subscribers: [],
    };
    await mapLimit(Array.from({ length: open }, (_, i) => i), 4, async (i) => {
      const { ticket } = await store.tickets.open({ customer: `@c${i}:example.com` as UserId, customerRoom: `!c${i}:example.com` as RoomId, openedAt: clock.now() });
      await store.tickets.setIssue(ticket.id, await client.createIssue(`bench request ${i}`, "bench"));
    });
    ctx.log(`redmine: ${open} open requests with issues in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    const sync = { tracker: client, metrics: { trackerError: () => undefined, trackerPolled: () => undefined } };
    // The first polls read the new issues (twice each, see the cursor); then nothing changes.
    for (let i = 0; i < 2; i++) await pollTracker(deps, sync);
    const cycles = 5;
    requests = 0;
    for (let i = 0; i < cycles; i++) await pollTracker(deps, sync);
    return { perIdleCycle: requests / cycles, setupS: (performance.now() - started) / 1000 };
  } finally {
    await store.close();
    await client.close();
  }
}

/** p50 of customer → thread with the sync off and on, interleaved. */
async function relayOnOff(ctx: BenchContext, rm: RedmineEnv, samples: number): Promise<{ off: number; on: number; n: number }> {
  const world = new BenchWorld(ctx);
  try {
    const operator = await world.person("operator", "Olga Operator");
    const customer = await world.person("customer", "Alice Customer");
    const desks = {
      off: await world.desk(operator.account, { name: "redmine-off" }),
      on: await world.desk(operator.account, { name: "redmine-on", env: testRedmineSettings(rm) }),
    };
    const results: Record<"off" | "on", number[]> = { off: [], on: [] };
    const rooms: Record<"off" | "on", { dm: string; root: string }> = { off: { dm: "", root: "" }, on: { dm: "", root: "" } };
    for (const side of ["off", "on"] as const) {
      const desk = desks[side];
      const dm = await world.openDm(customer.account, desk.bot.userId);
      await Promise.all([clientHasRoom(customer.client, dm), clientHasRoom(operator.client, desk.opsRoom)]);
      const rootSeen = seen(operator.client, desk.opsRoom, (ev) => ev.getSender() === desk.bot.userId && bodyOf(ev).startsWith("[OPEN]"), 30_000);
      await sendText(world.hs, customer.account, dm, "hello");
      rooms[side] = { dm, root: (await rootSeen).event.getId() ?? "" };
    }
    const warmup = 5;
    for (let round = 0; round < warmup + samples; round++) {
      for (const side of round % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const)) {
        const desk = desks[side];
        const nonce = `rm-${randomBytes(6).toString("hex")}`;
        const match = (ev: MatrixEvent): boolean => ev.getSender() === desk.bot.userId && threadOf(ev) === rooms[side].root && bodyOf(ev).endsWith(`\n${nonce}`);
        const arrived = arrival(operator.client, desk.opsRoom, match, 30_000);
        const t0 = performance.now();
        await sendText(world.hs, customer.account, rooms[side].dm, nonce);
        const ms = (await arrived) - t0;
        if (round >= warmup) results[side].push(ms);
        await sleep(50);
      }
    }
    return { off: spread(results.off).p50, on: spread(results.on).p50, n: results.on.length };
  } finally {
    await world.dispose();
  }
}

export async function runRedmine(ctx: BenchContext): Promise<SectionResult> {
  const rm = redmineFromEnv();
  const open = ctx.quick ? 100 : 1000;
  const idle = await idleCycle(ctx, rm, open);
  ctx.log(`redmine: ${idle.perIdleCycle} request(s) per idle poll with ${open} open requests`);
  const relay = await relayOnOff(ctx, rm, ctx.quick ? 10 : 60);
  const r = ratio(relay.on, relay.off);
  const rows: Row[] = [
    { metric: `Redmine: HTTP requests per idle poll, ${open} open requests`, value: String(idle.perIdleCycle), baseline: `${open} (the Go bot: one per open request)`, ratio: fmtRatio(idle.perIdleCycle / open), target: `≤ ${IDLE_REQUESTS_TARGET}`, met: idle.perIdleCycle <= IDLE_REQUESTS_TARGET },
    { metric: `relay customer → thread p50 with Redmine on (n=${relay.n})`, value: fmtMs(relay.on), baseline: `${fmtMs(relay.off)} (Redmine off)`, ratio: fmtRatio(r), target: `≤ ${RELAY_RATIO_TARGET}×`, met: r <= RELAY_RATIO_TARGET },
  ];
  return {
    rows,
    figures: {
      redmine_open_tickets: open,
      redmine_requests_per_idle_cycle: idle.perIdleCycle,
      relay_redmine_on_p50_ms: round(relay.on),
      relay_redmine_off_p50_ms: round(relay.off),
      relay_redmine_ratio_p50: round(r, 3),
    },
  };
}
