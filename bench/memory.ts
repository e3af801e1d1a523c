// 5. Memory: resident memory of `honoroit serve` at start, after 1,000 tickets opened and
// closed, after a second round of 1,000 (it must not keep growing with closed tickets), and
// with 1,000 open customer rooms. Customers are bare accounts driven over HTTP; one operator
// client watches the thread roots and sends `!ho done` in each thread.
import { ClientEvent } from "matrix-js-sdk";
import type { MatrixEvent } from "matrix-js-sdk";
import { createRoom, invite, sendInThread, sendText, waitForMembership, type Account } from "../test/support/matrix-http.ts";
import { bodyOf, clientHasRoom } from "./observe.ts";
import { mapLimit, sleep } from "./pool.ts";
import { rssMb } from "./proc.ts";
import { fmtMb, fmtRatio, type Row, type SectionResult } from "./report.ts";
import { median, ratio, round } from "./stats.ts";
import { collectGarbage, inspectorUrl } from "./inspector.ts";
import { BenchWorld, botMetrics, metricSum, type BenchContext, type Desk } from "./world.ts";

/** A second round of opened and closed tickets may add at most this much to the first's RSS. */
export const GROWTH_TARGET = 1.1;
/** …and at most this much to the JS heap in use after a full GC (a steadier signal than RSS). */
export const HEAP_GROWTH_TARGET = 1.05;
const CONCURRENCY = 20;

interface MemorySample {
  readonly rssMb: number;
  /** JS heap in use right after a full collection. */
  readonly heapMb: number;
}

/**
 * Memory after a full GC (through serve's inspector): the JS heap in use, and the median of
 * five RSS readings a second apart.
 */
async function sample(desk: Desk): Promise<MemorySample> {
  const url = inspectorUrl(desk.serve.output);
  if (url === undefined) throw new Error("serve printed no inspector URL (it runs with --inspect here)");
  const heapMb = await collectGarbage(url);
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    await sleep(1000);
    readings.push(rssMb(desk.serve.pid ?? 0));
  }
  return { rssMb: median(readings), heapMb };
}

export async function runMemory(ctx: BenchContext): Promise<SectionResult> {
  const n = ctx.quick ? 100 : 1000;
  const world = new BenchWorld(ctx);
  try {
    const { hs } = ctx;
    const operator = await world.person("operator", "Olga Operator");
    // The inspector lets the benchmark run a full GC before each reading; it is otherwise idle.
    const desk = await world.desk(operator.account, { name: "memory", env: { NODE_OPTIONS: "--inspect=127.0.0.1:0" } });
    const bot = desk.bot.userId;
    await clientHasRoom(operator.client, desk.opsRoom);
    const atStart = await sample(desk);
    ctx.log(`memory: serve RSS at start ${fmtMb(atStart.rssMb)}; registering ${n} customers`);
    const customers = await world.accounts("customer", n);

    // Thread roots, handed to whoever waits for that customer's next one.
    const waiting = new Map<string, (root: string) => void>();
    const onEvent = (ev: MatrixEvent): void => {
      const customer: unknown = ev.getContent()["customer"];
      if (ev.getRoomId() !== desk.opsRoom || ev.getSender() !== bot || typeof customer !== "string" || !bodyOf(ev).startsWith("[OPEN]")) return;
      waiting.get(customer)?.(ev.getId() ?? "");
      waiting.delete(customer);
    };
    operator.client.on(ClientEvent.Event, onEvent);
    const nextRoot = (customer: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no thread root for ${customer} within 120 s`)), 120_000);
        waiting.set(customer, (root) => {
          clearTimeout(timer);
          resolve(root);
        });
      });

    const rooms: (string | undefined)[] = [];
    /** Per phase: ms from the invite to the bot's join, the message to its thread root, `!ho done` to the leave. */
    let steps: { join: number[]; root: number[]; close: number[] } = { join: [], root: [], close: [] };
    /** The customer (re)invites the bot, writes once; with `close`, an operator closes the ticket. */
    const cycle = async (customer: Account, i: number, phase: string, close: boolean): Promise<void> => {
      let room = rooms[i];
      if (room === undefined) {
        room = await createRoom(hs, customer, { invite: [bot], direct: true });
        rooms[i] = room;
      } else {
        await invite(hs, customer, room, bot);
      }
      const t0 = performance.now();
      await waitForMembership(hs, customer, room, bot, { present: true, timeoutMs: 120_000, what: "the bot to join a customer's room" });
      const t1 = performance.now();
      const root = nextRoot(customer.userId);
      await sendText(hs, customer, room, `memory ${phase}`);
      const rootId = await root;
      const t2 = performance.now();
      steps.join.push(t1 - t0);
      steps.root.push(t2 - t1);
      if (!close) return;
      await sendInThread(hs, operator.account, desk.opsRoom, rootId, "!ho done");
      await waitForMembership(hs, customer, room, bot, { present: false, timeoutMs: 120_000, what: "the bot to leave a closed ticket's room" });
      steps.close.push(performance.now() - t2);
    };
    const phase = async (name: string, close: boolean): Promise<{ sample: MemorySample; seconds: number }> => {
      const t0 = performance.now();
      steps = { join: [], root: [], close: [] };
      await mapLimit(customers, CONCURRENCY, (c, i) => cycle(c, i, name, close));
      const seconds = (performance.now() - t0) / 1000;
      const s = await sample(desk);
      const ms = (xs: number[]): string => (xs.length === 0 ? "—" : `${Math.round(median(xs))} ms`);
      ctx.log(`memory: ${name}: ${n} tickets ${close ? "opened and closed" : "opened"} in ${seconds.toFixed(0)} s; RSS ${fmtMb(s.rssMb)}, heap ${fmtMb(s.heapMb)}`);
      ctx.log(`memory: ${name}: median per ticket (${CONCURRENCY} at once): invite to join ${ms(steps.join)}, message to thread root ${ms(steps.root)}, done to leave ${ms(steps.close)}`);
      return { sample: s, seconds };
    };

    let round1, round2, open;
    try {
      round1 = await phase("round 1", true);
      round2 = await phase("round 2", true);
      open = await phase("open", false);
    } finally {
      operator.client.removeListener(ClientEvent.Event, onEvent);
    }
    const metrics = await botMetrics(desk);
    const opened = metricSum(metrics, "honoroit_request_new");
    const closed = metricSum(metrics, "honoroit_request_done");
    if (opened !== 3 * n || closed !== 2 * n) throw new Error(`the bot counted ${opened} opened and ${closed} closed requests, expected ${3 * n} and ${2 * n}`);
    const customerSeries = [...metrics.keys()].filter((k) => k.startsWith("honoroit_messages_customer{")).length;

    const k = n.toLocaleString("en");
    const growth = ratio(round2.sample.rssMb, round1.sample.rssMb);
    const heapGrowth = ratio(round2.sample.heapMb, round1.sample.heapMb);
    const rows: Row[] = [
      { metric: "serve RSS at start", value: fmtMb(atStart.rssMb), baseline: "—", ratio: "—", target: "—" },
      { metric: `serve RSS after ${k} tickets opened and closed`, value: fmtMb(round1.sample.rssMb), baseline: `${fmtMb(atStart.rssMb)} (at start)`, ratio: fmtRatio(ratio(round1.sample.rssMb, atStart.rssMb)), target: "—" },
      {
        metric: `serve RSS after another ${k} opened and closed (${(2 * n).toLocaleString("en")} in all)`,
        value: fmtMb(round2.sample.rssMb),
        baseline: `${fmtMb(round1.sample.rssMb)} (after the first ${k})`,
        ratio: fmtRatio(growth),
        target: `≤ ${GROWTH_TARGET.toFixed(2)}× (no growth with closed tickets)`,
        met: growth <= GROWTH_TARGET,
      },
      {
        metric: `serve JS heap in use after a full GC, ${(2 * n).toLocaleString("en")} closed`,
        value: fmtMb(round2.sample.heapMb),
        baseline: `${fmtMb(round1.sample.heapMb)} (after ${k})`,
        ratio: fmtRatio(heapGrowth),
        target: `≤ ${HEAP_GROWTH_TARGET.toFixed(2)}×`,
        met: heapGrowth <= HEAP_GROWTH_TARGET,
      },
      { metric: `serve RSS with ${k} open customer rooms`, value: fmtMb(open.sample.rssMb), baseline: `${fmtMb(atStart.rssMb)} (at start)`, ratio: fmtRatio(ratio(open.sample.rssMb, atStart.rssMb)), target: "—" },
    ];
    return {
      rows,
      figures: {
        memory_tickets: n,
        rss_start_mb: round(atStart.rssMb),
        rss_after_1000_closed_mb: round(round1.sample.rssMb),
        rss_after_2000_closed_mb: round(round2.sample.rssMb),
        rss_1000_open_mb: round(open.sample.rssMb),
        rss_growth_second_round_ratio: round(growth, 3),
        heap_growth_second_round_ratio: round(heapGrowth, 3),
        heap_start_mb: round(atStart.heapMb),
        heap_after_1000_closed_mb: round(round1.sample.heapMb),
        heap_after_2000_closed_mb: round(round2.sample.heapMb),
        heap_1000_open_mb: round(open.sample.heapMb),
        memory_round1_s: Math.round(round1.seconds),
        memory_round2_s: Math.round(round2.seconds),
        memory_open_s: Math.round(open.seconds),
        memory_tickets_per_s: round(n / round1.seconds, 2),
        metrics_customer_series: customerSeries,
      },
    };
  } finally {
    await world.dispose();
  }
}
