// 1. Relay latency. Baseline: one person sends to another in a plain room and the receiver's
// /sync sees it (one hop). Relay: customer → the copy in the operators' thread, and operator →
// the copy in the customer's room (two hops plus the bot's work). Samples are sequential and
// the four kinds are interleaved in a shuffled order each round, so drift hits them alike.
import { randomBytes } from "node:crypto";
import type { MatrixClient, MatrixEvent } from "matrix-js-sdk";
import { createRoom, join, sendInThread, sendText } from "../test/support/matrix-http.ts";
import { arrival, bodyOf, clientHasRoom, seen, threadOf } from "./observe.ts";
import { sleep } from "./pool.ts";
import { fmtMs, fmtRatio, type Row, type SectionResult } from "./report.ts";
import { ratio, round, spread, type Spread } from "./stats.ts";
import { BenchWorld, type BenchContext } from "./world.ts";

/** p50 relay / p50 one hop must stay at or under this (2.0 is the floor: two hops). */
export const LATENCY_TARGET = 2.3;

type Kind = "baselineC2O" | "relayC2T" | "baselineO2C" | "relayO2C";
const KINDS: readonly Kind[] = ["baselineC2O", "relayC2T", "baselineO2C", "relayO2C"];

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export async function runLatency(ctx: BenchContext): Promise<SectionResult> {
  const samples = ctx.quick ? 20 : 100;
  const warmup = ctx.quick ? 3 : 10;
  const world = new BenchWorld(ctx);
  try {
    const { hs } = ctx;
    const operator = await world.person("operator", "Olga Operator");
    const customer = await world.person("customer", "Alice Customer");
    const desk = await world.desk(operator.account, { name: "latency" });
    const bot = desk.bot.userId;
    const dm = await world.openDm(customer.account, bot);
    // The same two people in a room without the bot: the one-hop baseline.
    const plain = await createRoom(hs, customer.account, { invite: [operator.account.userId] });
    await join(hs, operator.account, plain);
    await Promise.all([
      clientHasRoom(customer.client, dm),
      clientHasRoom(customer.client, plain),
      clientHasRoom(operator.client, plain),
      clientHasRoom(operator.client, desk.opsRoom),
    ]);

    // The customer's first message opens the ticket; its thread is where the operator answers.
    const rootSeen = seen(operator.client, desk.opsRoom, (ev) => ev.getSender() === bot && bodyOf(ev).startsWith("[OPEN]"), 30_000);
    const copySeen = arrival(operator.client, desk.opsRoom, (ev) => ev.getSender() === bot && bodyOf(ev).endsWith("\nhello"), 30_000);
    await sendText(hs, customer.account, dm, "hello");
    await copySeen;
    const root = (await rootSeen).event.getId() ?? "";
    ctx.log(`latency: ticket open, thread ${root}; ${warmup} warm-up and ${samples} measured rounds`);

    const fromBot = (ev: MatrixEvent): boolean => ev.getSender() === bot;
    const measure = async (client: MatrixClient, room: string, match: (ev: MatrixEvent, nonce: string) => boolean, send: (nonce: string) => Promise<unknown>): Promise<number> => {
      const nonce = `lat-${randomBytes(6).toString("hex")}`;
      const seen = arrival(client, room, (ev) => match(ev, nonce), 30_000);
      const started = performance.now();
      await send(nonce);
      return (await seen) - started;
    };
    const one: Record<Kind, () => Promise<number>> = {
      baselineC2O: () => measure(operator.client, plain, (ev, n) => ev.getSender() === customer.account.userId && bodyOf(ev) === n, (n) => sendText(hs, customer.account, plain, n)),
      relayC2T: () => measure(operator.client, desk.opsRoom, (ev, n) => fromBot(ev) && threadOf(ev) === root && bodyOf(ev).endsWith(`\n${n}`), (n) => sendText(hs, customer.account, dm, n)),
      baselineO2C: () => measure(customer.client, plain, (ev, n) => ev.getSender() === operator.account.userId && bodyOf(ev) === n, (n) => sendText(hs, operator.account, plain, n)),
      relayO2C: () => measure(customer.client, dm, (ev, n) => fromBot(ev) && bodyOf(ev) === n, (n) => sendInThread(hs, operator.account, desk.opsRoom, root, n)),
    };
    const results: Record<Kind, number[]> = { baselineC2O: [], relayC2T: [], baselineO2C: [], relayO2C: [] };
    for (let round = 0; round < warmup + samples; round++) {
      for (const kind of shuffled(KINDS)) {
        const ms = await one[kind]();
        if (round >= warmup) results[kind].push(ms);
        // Let the bot finish its bookkeeping and its own echo before the next sample.
        await sleep(50);
      }
    }
    return report(results);
  } finally {
    await world.dispose();
  }
}

function report(results: Record<Kind, number[]>): SectionResult {
  const s = Object.fromEntries(KINDS.map((k) => [k, spread(results[k])])) as Record<Kind, Spread>;
  const c2t = ratio(s.relayC2T.p50, s.baselineC2O.p50);
  const o2c = ratio(s.relayO2C.p50, s.baselineO2C.p50);
  const target = `≤ ${LATENCY_TARGET.toFixed(1)}× (floor 2.0×)`;
  const rows: Row[] = [];
  const direction = (name: string, relay: Spread, base: Spread, baseName: string): void => {
    for (const p of ["p50", "p95", "p99"] as const) {
      const r = ratio(relay[p], base[p]);
      rows.push({
        metric: `relay ${name}, ${p} (n=${relay.n})`,
        value: fmtMs(relay[p]),
        baseline: `${fmtMs(base[p])} (${baseName}, ${p})`,
        ratio: fmtRatio(r),
        target: p === "p50" ? target : "—",
        ...(p === "p50" ? { met: r <= LATENCY_TARGET } : {}),
      });
    }
  };
  direction("customer → operators' thread", s.relayC2T, s.baselineC2O, "one hop customer → operator");
  direction("operator → customer", s.relayO2C, s.baselineO2C, "one hop operator → customer");
  return {
    rows,
    figures: {
      relay_samples: s.relayC2T.n,
      relay_baseline_p50_ms: round(s.baselineC2O.p50),
      relay_baseline_p95_ms: round(s.baselineC2O.p95),
      relay_baseline_p99_ms: round(s.baselineC2O.p99),
      relay_customer_to_thread_p50_ms: round(s.relayC2T.p50),
      relay_customer_to_thread_p95_ms: round(s.relayC2T.p95),
      relay_customer_to_thread_p99_ms: round(s.relayC2T.p99),
      relay_baseline_operator_to_customer_p50_ms: round(s.baselineO2C.p50),
      relay_baseline_operator_to_customer_p95_ms: round(s.baselineO2C.p95),
      relay_baseline_operator_to_customer_p99_ms: round(s.baselineO2C.p99),
      relay_operator_to_customer_p50_ms: round(s.relayO2C.p50),
      relay_operator_to_customer_p95_ms: round(s.relayO2C.p95),
      relay_operator_to_customer_p99_ms: round(s.relayO2C.p99),
      relay_ratio_p50: round(c2t, 3),
      relay_ratio_operator_to_customer_p50: round(o2c, 3),
    },
  };
}
