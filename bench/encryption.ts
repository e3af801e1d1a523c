// 9. End-to-end encryption. (1) A customer's relay, from their send until the operator's client
// can show the bot's copy in the thread (decrypted, where encrypted), between an encrypted direct
// chat and an encrypted operators room, beside the same between plain rooms: two bots run side by
// side with the same settings (encryption on, as by default), their samples interleaved, and the
// customer and the operator are the same two people on matrix-js-sdk with Rust crypto for both.
// (2) The resident memory of `honoroit serve` at start, and after 1,000 encrypted messages from
// several customers relayed into an encrypted operators room, each copy counted as the operator
// reads it. No garbage collection is forced: memory is read as it is in production, after a
// short settle.
import { randomBytes } from "node:crypto";
import type { MatrixClient, MatrixEvent } from "matrix-js-sdk";
import { bodyOf, clientHasRoom, shown, threadOf, watchShown } from "./observe.ts";
import { mapLimit, sleep } from "./pool.ts";
import { rssMb } from "./proc.ts";
import { fmtMb, fmtMs, fmtRatio, type Row, type SectionResult } from "./report.ts";
import { median, ratio, round, spread } from "./stats.ts";
import { UNIT_ENVIRONMENT } from "../src/cli/systemd-unit.ts";
import { BenchWorld, botMetrics, metricSum, type BenchContext, type Desk, type Person } from "./world.ts";

/** p50 of the encrypted relay / p50 of the plain relay must stay at or under this. */
export const ENCRYPTED_RELAY_TARGET = 1.2;
/** RSS after 1,000 encrypted messages / RSS at start must stay at or under this. */
export const ENCRYPTED_RSS_TARGET = 1.2;

/** What every bot of this section runs with: its saved session and crypto state sealed, as a deployment should. */
const DESK_ENV = { HONOROIT_DATA_SECRET: "a bench data secret of 32 bytes!" };

type Kind = "encrypted" | "plain";
const KINDS: readonly Kind[] = ["encrypted", "plain"];

/** Sends a text message as the person's app does: encrypted first in an encrypted room. */
async function say(person: Person, room: string, text: string): Promise<void> {
  await person.client.sendTextMessage(room, text);
}

/** Whether the client will encrypt what it sends in `room`. */
async function encrypts(client: MatrixClient, room: string): Promise<boolean> {
  return (await client.getCrypto()?.isEncryptionEnabledInRoom(room)) ?? false;
}

interface RelaySamples {
  /** Customer's send until the operator's client shows the copy, ms. */
  readonly relay: Record<Kind, number[]>;
  /** Customer's send until the homeserver accepted it (encryption included), ms. */
  readonly send: Record<Kind, number[]>;
}

/** Customer → the operators' thread through an encrypted bot and a plain one, interleaved. */
async function relayLatency(ctx: BenchContext, samples: number, warmup: number): Promise<RelaySamples> {
  const world = new BenchWorld(ctx);
  try {
    const operator = await world.person("operator", "Olga Operator", { crypto: true });
    const customer = await world.person("customer", "Alice Customer", { crypto: true });
    const desks: Record<Kind, Desk> = {
      encrypted: await world.desk(operator.account, { name: "e2ee", encrypted: true, env: DESK_ENV }),
      plain: await world.desk(operator.account, { name: "e2ee-plain", env: DESK_ENV }),
    };
    const rooms = {} as Record<Kind, { dm: string; root: string }>;
    for (const kind of KINDS) {
      const desk = desks[kind];
      const bot = desk.bot.userId;
      const dm = await world.openDm(customer.account, bot, { encrypted: kind === "encrypted" });
      await Promise.all([clientHasRoom(customer.client, dm), clientHasRoom(operator.client, desk.opsRoom)]);
      for (const [who, room] of [[customer, dm], [operator, desk.opsRoom]] as const) {
        if ((await encrypts(who.client, room)) !== (kind === "encrypted")) throw new Error(`${who.account.userId}'s client does not see ${room} as ${kind}`);
      }
      const rootShown = shown(operator.client, desk.opsRoom, (ev) => ev.getSender() === bot && bodyOf(ev).startsWith("[OPEN]"), 60_000);
      const copyShown = shown(operator.client, desk.opsRoom, (ev) => ev.getSender() === bot && bodyOf(ev).endsWith("\nhello"), 60_000);
      await say(customer, dm, "hello");
      const root = (await rootShown).event;
      await copyShown;
      if (root.isEncrypted() !== (kind === "encrypted")) throw new Error(`the ${kind} bot's thread root is ${root.isEncrypted() ? "" : "not "}encrypted`);
      rooms[kind] = { dm, root: root.getId() ?? "" };
    }
    ctx.log(`encryption: both tickets open; ${warmup} warm-up and ${samples} measured rounds`);

    const result: RelaySamples = { relay: { encrypted: [], plain: [] }, send: { encrypted: [], plain: [] } };
    for (let round = 0; round < warmup + samples; round++) {
      for (const kind of round % 2 === 0 ? KINDS : [...KINDS].reverse()) {
        const desk = desks[kind];
        const { dm, root } = rooms[kind];
        const nonce = `e2ee-${randomBytes(6).toString("hex")}`;
        const match = (ev: MatrixEvent): boolean =>
          ev.getSender() === desk.bot.userId && ev.isEncrypted() === (kind === "encrypted") && threadOf(ev) === root && bodyOf(ev).endsWith(`\n${nonce}`);
        const copy = shown(operator.client, desk.opsRoom, match, 30_000);
        const t0 = performance.now();
        await say(customer, dm, nonce);
        const accepted = performance.now();
        const { at } = await copy;
        if (round >= warmup) {
          result.relay[kind].push(at - t0);
          result.send[kind].push(accepted - t0);
        }
        // Let the bot finish its bookkeeping and its own echo before the next sample.
        await sleep(50);
      }
    }
    return result;
  } finally {
    await world.dispose();
  }
}

/** The median of five RSS readings of a process, a second apart. */
async function settledRss(pid: number): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    await sleep(1000);
    readings.push(rssMb(pid));
  }
  return median(readings);
}

interface MemoryRun {
  readonly startMb: number;
  readonly afterMb: number;
  /** The highest RSS read (once a second) while the messages were sent and relayed. */
  readonly peakMb: number;
  readonly sendS: number;
  readonly relayS: number;
  /** The bot's own count of customer messages relayed (its /metrics). */
  readonly botRelayed: number;
  /** Events the bot could not decrypt at first, by outcome (its /metrics). */
  readonly botUndecryptable: number;
  /** Copies of the bot's the operator's client could not decrypt. */
  readonly operatorUndecryptable: number;
}

/** serve's RSS at start, and after `total` encrypted messages from `customerCount` customers relayed. */
async function memoryAfterMessages(ctx: BenchContext, total: number, customerCount: number, env: Readonly<Record<string, string>>): Promise<MemoryRun> {
  const world = new BenchWorld(ctx);
  try {
    const operator = await world.person("operator", "Olga Operator", { crypto: true });
    const desk = await world.desk(operator.account, { name: "e2ee-memory", encrypted: true, env: { ...DESK_ENV, ...env } });
    const bot = desk.bot.userId;
    const pid = desk.serve.pid ?? 0;
    await clientHasRoom(operator.client, desk.opsRoom);
    const startMb = await settledRss(pid);
    ctx.log(`encryption: serve RSS at start ${fmtMb(startMb)}; ${customerCount} customers in encrypted chats`);

    const customers = await mapLimit(Array.from({ length: customerCount }, (_, i) => i), 4, (i) => world.person("customer", `Customer ${i + 1}`, { crypto: true }));
    const dms = await mapLimit(customers, 4, async (c) => {
      const dm = await world.openDm(c.account, bot, { encrypted: true });
      await clientHasRoom(c.client, dm);
      if (!(await encrypts(c.client, dm))) throw new Error(`${c.account.userId}'s client does not see ${dm} as encrypted`);
      return dm;
    });

    // Every copy the operator can read, by the customer's text; undecryptable ones counted at the end.
    const copies = new Set<string>();
    const stopWatching = watchShown(operator.client, desk.opsRoom, (ev) => {
      const text = /\n(e2ee-mem \d+\.\d+)$/.exec(bodyOf(ev))?.[1];
      if (ev.getSender() === bot && ev.isEncrypted() && text !== undefined) copies.add(text);
    });
    let peakMb = 0;
    const poll = setInterval(() => (peakMb = Math.max(peakMb, rssMb(pid))), 1000);
    const perCustomer = Math.ceil(total / customerCount);
    const t0 = performance.now();
    let sendS = 0;
    try {
      // Each customer writes as fast as their client sends, without waiting for the copies.
      const sending = Promise.all(customers.map(async (c, i) => {
        for (let j = 0; j < perCustomer && i * perCustomer + j < total; j++) await say(c, dms[i] ?? "", `e2ee-mem ${i}.${j}`);
      })).then(() => (sendS = (performance.now() - t0) / 1000));
      let sendFailed: Error | undefined;
      sending.catch((error: unknown) => (sendFailed = error instanceof Error ? error : new Error(String(error))));
      let last = 0;
      let lastChange = performance.now();
      let lastLog = performance.now();
      while (copies.size < total) {
        await sleep(200);
        if (sendFailed !== undefined) throw sendFailed;
        const now = performance.now();
        if (copies.size !== last) {
          last = copies.size;
          lastChange = now;
        }
        if (now - lastLog > 15_000) {
          lastLog = now;
          ctx.log(`encryption: ${copies.size} of ${total} copies read by the operator; serve RSS ${fmtMb(rssMb(pid))}`);
        }
        if (now - lastChange > 120_000) throw new Error(`no new copy for 120 s: the operator read ${copies.size} of ${total}`);
      }
      await sending;
    } finally {
      clearInterval(poll);
      stopWatching();
    }
    const relayS = (performance.now() - t0) / 1000;
    ctx.log(`encryption: ${total} messages sent in ${sendS.toFixed(0)} s, all read by the operator after ${relayS.toFixed(0)} s; peak RSS ${fmtMb(peakMb)}`);
    const afterMb = await settledRss(pid);

    const metrics = await botMetrics(desk);
    const botRelayed = metricSum(metrics, "honoroit_messages_customer");
    if (botRelayed !== total) throw new Error(`the bot counted ${botRelayed} customer messages relayed, expected ${total}`);
    const room = operator.client.getRoom(desk.opsRoom);
    const operatorUndecryptable = room?.getLiveTimeline().getEvents().filter((ev) => ev.getSender() === bot && ev.isDecryptionFailure()).length ?? 0;
    return { startMb, afterMb, peakMb, sendS, relayS, botRelayed, botUndecryptable: metricSum(metrics, "honoroit_undecryptable_events_total"), operatorUndecryptable };
  } finally {
    await world.dispose();
  }
}

export async function runEncryption(ctx: BenchContext): Promise<SectionResult> {
  const samples = ctx.quick ? 10 : 50;
  const warmup = ctx.quick ? 2 : 5;
  const total = ctx.quick ? 100 : 1000;
  const customerCount = ctx.quick ? 2 : 10;

  const latency = await relayLatency(ctx, samples, warmup);
  const enc = spread(latency.relay.encrypted);
  const plain = spread(latency.relay.plain);
  const sendEnc = median(latency.send.encrypted);
  const sendPlain = median(latency.send.plain);
  const relayRatio = ratio(enc.p50, plain.p50);
  ctx.log(`encryption: relay p50 ${fmtMs(enc.p50)} encrypted, ${fmtMs(plain.p50)} plain; the customer's send alone ${fmtMs(sendEnc)} and ${fmtMs(sendPlain)}`);

  // As the systemd unit init writes runs it (the target's figure), then without its environment.
  const unitEnv = Object.entries(UNIT_ENVIRONMENT).map(([k, v]) => `${k}=${v}`).join(" ");
  ctx.log(`encryption: memory, serve run as the systemd unit runs it (${unitEnv})`);
  const memory = await memoryAfterMessages(ctx, total, customerCount, UNIT_ENVIRONMENT);
  const rssRatio = ratio(memory.afterMb, memory.startMb);
  ctx.log("encryption: memory, serve run without the unit's environment");
  const bare = await memoryAfterMessages(ctx, total, customerCount, {});
  const bareRatio = ratio(bare.afterMb, bare.startMb);
  const k = total.toLocaleString("en");

  const rows: Row[] = [
    {
      metric: `relay customer → operators' thread, encrypted chat and operators room, shown decrypted, p50 (n=${enc.n})`,
      value: fmtMs(enc.p50),
      baseline: `${fmtMs(plain.p50)} (plain chat and operators room, same run, interleaved, p50)`,
      ratio: fmtRatio(relayRatio),
      target: `≤ ${ENCRYPTED_RELAY_TARGET.toFixed(1)}×`,
      met: relayRatio <= ENCRYPTED_RELAY_TARGET,
    },
    {
      metric: `relay customer → operators' thread, encrypted, p95 (n=${enc.n})`,
      value: fmtMs(enc.p95),
      baseline: `${fmtMs(plain.p95)} (plain, p95)`,
      ratio: fmtRatio(ratio(enc.p95, plain.p95)),
      target: "—",
    },
    {
      metric: "of that, the customer's own send (their client encrypts, the homeserver accepts), p50",
      value: fmtMs(sendEnc),
      baseline: `${fmtMs(sendPlain)} (plain)`,
      ratio: fmtRatio(ratio(sendEnc, sendPlain)),
      target: "—",
    },
    {
      metric: `encrypted messages unreadable: the bot's copies the operator could not decrypt / the customers' messages the bot could not decrypt at first (of ${k}, in each of the two memory runs)`,
      value: `${memory.operatorUndecryptable + bare.operatorUndecryptable} / ${memory.botUndecryptable + bare.botUndecryptable}`,
      baseline: "—",
      ratio: "—",
      target: "0 / 0",
      met: memory.operatorUndecryptable + bare.operatorUndecryptable === 0 && memory.botUndecryptable + bare.botUndecryptable === 0,
    },
    { metric: `serve RSS at start, encryption on (encrypted operators room), run as the systemd unit runs it (${unitEnv})`, value: fmtMb(memory.startMb), baseline: "—", ratio: "—", target: "—" },
    {
      metric: `serve RSS after ${k} encrypted messages relayed (${customerCount} customers, all ${k} read by the operator), as the unit runs it`,
      value: fmtMb(memory.afterMb),
      baseline: `${fmtMb(memory.startMb)} (at start)`,
      ratio: fmtRatio(rssRatio),
      target: `≤ ${ENCRYPTED_RSS_TARGET.toFixed(1)}×`,
      met: rssRatio <= ENCRYPTED_RSS_TARGET,
    },
    {
      metric: `the same, serve run without the unit's environment (glibc's and V8's defaults)`,
      value: fmtMb(bare.afterMb),
      baseline: `${fmtMb(bare.startMb)} (at start)`,
      ratio: fmtRatio(bareRatio),
      target: "—",
    },
    {
      metric: `time for all ${k} to reach the operator: as the unit runs it / without its environment`,
      value: `${memory.relayS.toFixed(0)} s`,
      baseline: `${bare.relayS.toFixed(0)} s (without)`,
      ratio: fmtRatio(ratio(memory.relayS, bare.relayS)),
      target: "—",
    },
  ];
  return {
    rows,
    figures: {
      relay_encrypted_samples: enc.n,
      relay_encrypted_p50_ms: round(enc.p50),
      relay_encrypted_p95_ms: round(enc.p95),
      relay_plain_p50_ms: round(plain.p50),
      relay_plain_p95_ms: round(plain.p95),
      relay_encrypted_ratio_p50: round(relayRatio, 3),
      relay_encrypted_customer_send_p50_ms: round(sendEnc),
      relay_plain_customer_send_p50_ms: round(sendPlain),
      encrypted_messages: total,
      encrypted_customers: customerCount,
      rss_encrypted_start_mb: round(memory.startMb),
      rss_after_1000_encrypted_mb: round(memory.afterMb),
      rss_encrypted_peak_mb: round(memory.peakMb),
      rss_encrypted_ratio: round(rssRatio, 3),
      encrypted_send_s: round(memory.sendS),
      encrypted_relay_s: round(memory.relayS),
      encrypted_undecryptable_bot: memory.botUndecryptable,
      encrypted_undecryptable_operator: memory.operatorUndecryptable,
      rss_encrypted_unit_env: unitEnv,
      rss_encrypted_start_no_unit_env_mb: round(bare.startMb),
      rss_after_1000_encrypted_no_unit_env_mb: round(bare.afterMb),
      rss_encrypted_ratio_no_unit_env: round(bareRatio, 3),
      encrypted_relay_no_unit_env_s: round(bare.relayS),
    },
  };
}
