// 2. Throughput: 50 customers each sending as fast as the homeserver answers, for 60 s. First
// into rooms without the bot (the rate Synapse accepts from these clients: the baseline), then
// into their tickets while the bot relays. Relayed = copies the operator's client saw in the
// window; backlog = messages accepted but not yet seen, when the senders stop and after the bot
// has been given time to drain (nothing may be lost or doubled). An operator answers once a
// second during the burst: those replies must reach their customers too. Meanwhile a quiet
// customer writes now and then: their relay latency is timed beside a one-hop message between
// two people and a bare relayer's relay under the same flood (flood-latency.ts). After each run,
// the homeserver's own rate into the grown operators room (the ceiling of the bot's drain) and
// that room's forward extremities. The whole run is repeated (3 times in a full run).
import { randomBytes } from "node:crypto";
import { ClientEvent } from "matrix-js-sdk";
import type { MatrixEvent } from "matrix-js-sdk";
import { createRoom, join, messagesFrom, sendInThread, sendText, type Account } from "../test/support/matrix-http.ts";
import { bodyOf, clientHasRoom, threadOf } from "./observe.ts";
import { mapLimit, sleep } from "./pool.ts";
import { cpuMs } from "./proc.ts";
import { ROOM_SENDS_AT_ONCE } from "../src/adapters/matrix/messenger.ts";
import { forwardExtremities, registerUser, uniqueName } from "../test/support/synapse.ts";
import { floodSamples, setUpBareRelay, type FloodCast, type Split } from "./flood-latency.ts";
import { fmtMs, fmtRatio, fmtRate, type Row, type SectionResult } from "./report.ts";
import { median, ratio, round, spread } from "./stats.ts";
import { BenchWorld, PASSWORD, type BenchContext, type Person } from "./world.ts";

/** A quiet customer's relay p50 under the flood, over a one-hop p50 under the same flood. */
export const QUIET_TARGET = 2.5;

const TAG = /\btp-(\w+)-(\d+)-(\d+)$/;

/** The flood's cast (flood-latency.ts), with the operator's client and the flooding customers. */
interface Cast extends Omit<FloodCast, "operator"> {
  readonly operator: Person;
  readonly customers: readonly Account[];
  readonly dms: readonly string[];
  readonly plain: readonly string[];
  /** An admin of the homeserver, to read the operators room's forward extremities. */
  readonly admin: Account;
  /** Thread root of each customer's ticket (the quiet one's too), by user id. */
  readonly roots: ReadonlyMap<string, string>;
  /** What the operator's client saw: each copy by tag, with when it arrived. */
  readonly copies: Map<string, number>;
  duplicates: () => number;
}

/** One run's measurements. */
interface RunResult {
  readonly directRate: number;
  readonly relayedRate: number;
  readonly sentRate: number;
  readonly sent: number;
  readonly backlogAtStop: number;
  readonly backlogFinal: number;
  readonly duplicates: number;
  readonly drainMs: number;
  readonly drainRate: number;
  readonly repliesSent: number;
  readonly repliesDelivered: number;
  readonly repliesDoubled: number;
  readonly quietMs: readonly number[];
  readonly hopMs: readonly number[];
  readonly bareMs: readonly number[];
  readonly split: Split;
  /** The homeserver's rate into the operators room once drained, sent by a member (no bot work). */
  readonly opsRoomRate: number;
  /** The operators room's forward extremities at the end of the run. */
  readonly extremities: number;
  readonly cpuPerMessageMs: number;
}

/** Every customer sends in a loop until `until`; returns when each one's last send is answered. */
async function sendLoop(ctx: BenchContext, customers: readonly Account[], rooms: readonly string[], phase: string, until: number): Promise<{ inWindow: number; total: number }> {
  let inWindow = 0;
  let total = 0;
  await Promise.all(customers.map(async (customer, i) => {
    const room = rooms[i] ?? "";
    for (let seq = 0; performance.now() < until; seq++) {
      await sendText(ctx.hs, customer, room, `tp-${phase}-${i}-${seq}`);
      total += 1;
      if (performance.now() <= until) inWindow += 1;
    }
  }));
  return { inWindow, total };
}

export async function runThroughput(ctx: BenchContext): Promise<SectionResult> {
  const customersN = ctx.quick ? 10 : 50;
  const durationS = ctx.quick ? 10 : 60;
  const runs = ctx.runs ?? (ctx.quick ? 1 : 3);
  const world = new BenchWorld(ctx);
  try {
    const cast = await assemble(ctx, world, customersN);
    const oneRoom = await oneRoomRate(ctx, world, ctx.quick ? 200 : 600);
    ctx.log(`throughput: one room, ${ONE_ROOM_IN_FLIGHT} sends at once, no bot: ${fmtRate(oneRoom)}`);
    const results: RunResult[] = [];
    try {
      for (let run = 1; run <= runs; run++) {
        ctx.log(`throughput: run ${run} of ${runs}: ${durationS} s direct, then ${durationS} s through the bot`);
        results.push(await oneRun(ctx, cast, run, durationS));
      }
    } finally {
      cast.operator.client.removeAllListeners(ClientEvent.Event);
    }
    return report(results, customersN, durationS, oneRoom);
  } finally {
    await world.dispose();
  }
}

/** Sends in flight in the one-room baselines: as many as the bot sends into one room at once. */
const ONE_ROOM_IN_FLIGHT = ROOM_SENDS_AT_ONCE;

/**
 * How fast the homeserver takes messages into one room, without the bot: one account sends
 * `total` messages into 50 threads of a new room, as many at once as the bot sends its copies
 * into the operators room while catching up (more would fork the room's event graph for good).
 * All the bot's copies go into that one room, so this is the ceiling of a drain, whatever the
 * bot does; the direct baseline spreads over 50 rooms.
 */
async function oneRoomRate(ctx: BenchContext, world: BenchWorld, total: number): Promise<number> {
  const { hs } = ctx;
  const [sender, member] = await world.accounts("one-room", 2);
  if (sender === undefined || member === undefined) throw new Error("no accounts for the one-room baseline");
  const room = await createRoom(hs, sender, { invite: [member.userId] });
  await join(hs, member, room);
  const roots: string[] = [];
  for (let i = 0; i < 50; i++) roots.push(await sendText(hs, sender, room, `one-room thread ${i}`));
  return roomRate(ctx, sender, room, roots, total, "one-room");
}

/** Messages per second `sender` gets into `room`, `total` of them into `roots`' threads, as many at once as the bot sends. */
async function roomRate(ctx: BenchContext, sender: Account, room: string, roots: readonly string[], total: number, label: string): Promise<number> {
  const started = performance.now();
  await mapLimit(Array.from({ length: total }, (_, i) => i), ONE_ROOM_IN_FLIGHT, (i) => sendInThread(ctx.hs, sender, room, roots[i % roots.length] ?? "", `${label} ${i}`));
  return total / ((performance.now() - started) / 1000);
}

/** The people, rooms and tickets of the section, with every ticket open before anything is timed. */
async function assemble(ctx: BenchContext, world: BenchWorld, customersN: number): Promise<Cast> {
  const { hs } = ctx;
  const operator = await world.person("operator", "Olga Operator");
  const desk = await world.desk(operator.account, { name: "throughput" });
  const bot = desk.bot.userId;
  const peer = await world.account("peer", "Peer");
  const admin = await registerUser(hs, uniqueName("admin"), PASSWORD, { admin: true });
  const customers = await world.accounts("customer", customersN);
  const quiet = await world.account("quiet", "Quentin Quiet");
  const [hopFrom, hopTo] = await world.accounts("hop", 2);
  if (hopFrom === undefined || hopTo === undefined) throw new Error("no accounts for the one-hop baseline");
  const dms = await mapLimit(customers, 10, (c) => world.openDm(c, bot));
  const quietDm = await world.openDm(quiet, bot);
  // The baseline rooms: the same customers, each with one other member, and no bot.
  const plain = await mapLimit(customers, 10, async (c) => {
    const room = await createRoom(hs, c, { invite: [peer.userId] });
    await join(hs, peer, room);
    return room;
  });
  const hopRoom = await createRoom(hs, hopFrom, { invite: [hopTo.userId] });
  await join(hs, hopTo, hopRoom);
  const bare = await setUpBareRelay(ctx, world, desk, operator.account);
  await clientHasRoom(operator.client, desk.opsRoom);

  const copies = new Map<string, number>();
  const roots = new Map<string, string>();
  let duplicates = 0;
  operator.client.on(ClientEvent.Event, (ev: MatrixEvent): void => {
    if (ev.getRoomId() !== desk.opsRoom || ev.getSender() !== bot) return;
    const customer: unknown = ev.getContent()["customer"];
    if (typeof customer === "string" && bodyOf(ev).startsWith("[OPEN]")) roots.set(customer, ev.getId() ?? "");
    if (threadOf(ev) === undefined) return;
    const tag = TAG.exec(bodyOf(ev))?.[0];
    if (tag === undefined) return;
    if (copies.has(tag)) duplicates += 1;
    else copies.set(tag, performance.now());
  });
  const cast: Cast = { desk, operator, customers, dms, plain, quiet, quietDm, hopFrom, hopTo, hopRoom, bare, admin, roots, copies, duplicates: () => duplicates };

  // Open every ticket first: the measured window is relaying, not opening.
  await Promise.all([...customers.map((c, i) => sendText(hs, c, dms[i] ?? "", `tp-open-${i}-0`)), sendText(hs, quiet, quietDm, `tp-open-${customersN}-0`)]);
  const deadline = performance.now() + 120_000;
  while (roots.size < customersN + 1 || seenOf(cast, "open") < customersN + 1) {
    if (performance.now() > deadline) throw new Error(`not every ticket was opened within 120 s (${roots.size} threads)`);
    await sleep(100);
  }
  ctx.log(`throughput: ${customersN} tickets and a quiet customer's open`);
  return cast;
}

const seenOf = (cast: Cast, phase: string): number => [...cast.copies.keys()].filter((k) => k.startsWith(`tp-${phase}-`)).length;

async function waitSeen(cast: Cast, phase: string, n: number, limitMs: number): Promise<number> {
  const deadline = performance.now() + limitMs;
  while (seenOf(cast, phase) < n && performance.now() < deadline) await sleep(100);
  return seenOf(cast, phase);
}

async function oneRun(ctx: BenchContext, cast: Cast, run: number, durationS: number): Promise<RunResult> {
  const { hs } = ctx;
  const { desk, customers, dms, plain } = cast;
  const bot = desk.bot.userId;
  const duplicatesBefore = cast.duplicates();
  const direct = await sendLoop(ctx, customers, plain, `d${run}`, performance.now() + durationS * 1000);
  await sleep(5000);

  const cpuBefore = cpuMs(desk.serve.pid ?? 0);
  const started = performance.now();
  const end = started + durationS * 1000;
  const phase = `r${run}`;
  const [relay, replies, latency] = await Promise.all([
    sendLoop(ctx, customers, dms, phase, end),
    operatorReplies(ctx, cast, run, end),
    floodSamples(ctx, { ...cast, operator: cast.operator.account }, end),
  ]);
  const stoppedAt = performance.now();
  const relayedInWindow = [...cast.copies].filter(([k, at]) => k.startsWith(`tp-${phase}-`) && at <= end).length;
  const seenAtStop = seenOf(cast, phase);
  const backlogAtStop = relay.total - seenAtStop;
  const seenAll = await waitSeen(cast, phase, relay.total, (ctx.quick ? 60 : 180) * 1000);
  const drainMs = performance.now() - stoppedAt;
  const cpuUsed = cpuMs(desk.serve.pid ?? 0) - cpuBefore;

  // Every operator reply must have reached its customer, once.
  const replyDeadline = performance.now() + 60_000;
  let bodies: string[] = [];
  for (;;) {
    const received = await mapLimit(dms, 10, (room, i) => messagesFrom(hs, customers[i] ?? cast.quiet, room, bot));
    bodies = received.flat().map((m) => m.body);
    if (replies.every((r) => bodies.includes(r.text)) || performance.now() > replyDeadline) break;
    await sleep(2000);
  }
  const delivered = replies.filter((r) => bodies.includes(r.text)).length;
  const doubled = replies.filter((r) => bodies.filter((b) => b === r.text).length > 1).length;
  const missing = replies.filter((r) => !bodies.includes(r.text));
  // Enough to look the event up in the bot's database and log (kept with --keep).
  if (missing.length > 0) ctx.log(`throughput: run ${run}: not delivered: ${missing.map((r) => `${r.text} (${r.eventId} in thread ${r.root})`).join(", ")}`);
  // The ceiling of this run's drain: the operators room, as large as the drain left it.
  const opsRoomRate = await roomRate(ctx, cast.bare.relayer, desk.opsRoom, cast.bare.roots, ctx.quick ? 100 : 300, `ops-rate-${run}`);
  return {
    directRate: direct.inWindow / durationS,
    relayedRate: relayedInWindow / durationS,
    sentRate: relay.inWindow / durationS,
    sent: relay.total,
    backlogAtStop,
    backlogFinal: relay.total - seenAll,
    duplicates: cast.duplicates() - duplicatesBefore,
    drainMs,
    // With the customers quiet, the homeserver is the bot's alone: how fast it catches up.
    drainRate: backlogAtStop > 0 ? (seenAll - seenAtStop) / (drainMs / 1000) : Number.NaN,
    repliesSent: replies.length,
    repliesDelivered: delivered,
    repliesDoubled: doubled,
    quietMs: latency.quiet,
    hopMs: latency.hop,
    bareMs: latency.bare,
    split: latency.split,
    opsRoomRate,
    extremities: await forwardExtremities(hs, cast.admin.accessToken, desk.opsRoom),
    cpuPerMessageMs: cpuUsed / Math.max(1, seenAll),
  };
}

/** An operator answers once a second, each time in another customer's thread. */
async function operatorReplies(ctx: BenchContext, cast: Cast, run: number, end: number): Promise<{ text: string; eventId: string; root: string }[]> {
  const sent: { text: string; eventId: string; root: string }[] = [];
  for (let i = 0; performance.now() < end; i++) {
    const customer = cast.customers[i % cast.customers.length]?.userId ?? "";
    const root = cast.roots.get(customer);
    // A reply outside the thread would go nowhere: that would be the benchmark's fault.
    if (root === undefined) throw new Error(`no thread known for ${customer}`);
    const text = `op-reply-${run}-${i}-${randomBytes(3).toString("hex")}`;
    const eventId = await sendInThread(ctx.hs, cast.operator.account, cast.desk.opsRoom, root, text);
    sent.push({ text, eventId, root });
    await sleep(1000);
  }
  return sent;
}

function report(results: readonly RunResult[], customersN: number, durationS: number, oneRoom: number): SectionResult {
  const med = (f: (r: RunResult) => number): number => median(results.map(f).filter(Number.isFinite));
  const sum = (f: (r: RunResult) => number): number => results.reduce((a, r) => a + f(r), 0);
  const directRate = med((r) => r.directRate);
  const relayedRate = med((r) => r.relayedRate);
  const sentRate = med((r) => r.sentRate);
  const drainRate = med((r) => r.drainRate);
  const quiet = spread(results.flatMap((r) => r.quietMs));
  const hop = spread(results.flatMap((r) => r.hopMs));
  const quietRatio = ratio(quiet.p50, hop.p50);
  const drainRatio = ratio(drainRate, directRate);
  const bare = spread(results.flatMap((r) => r.bareMs));
  const opsRoomRate = med((r) => r.opsRoomRate);
  const perRun = (f: (r: RunResult) => string): string => results.map(f).join("; ");
  const p50Of = (f: (r: RunResult) => readonly number[]): number => spread(results.flatMap(f)).p50;
  const splitOf = (...parts: ((r: RunResult) => readonly number[])[]): string => parts.map((f) => fmtMs(p50Of(f))).join(" / ");
  const label = `${customersN} customers, ${durationS} s, median of ${results.length} runs`;
  const allRelayed = results.every((r) => r.backlogFinal === 0 && r.duplicates === 0);
  const allReplies = results.every((r) => r.repliesDelivered === r.repliesSent && r.repliesDoubled === 0);
  const rows: Row[] = [
    { metric: `throughput: customer messages relayed per second (${label})`, value: fmtRate(relayedRate), baseline: `${fmtRate(directRate)} (Synapse accepts from the same clients, no bot)`, ratio: fmtRatio(ratio(relayedRate, directRate)), target: "—" },
    { metric: "throughput: customers' own send rate while the bot relays", value: fmtRate(sentRate), baseline: `${fmtRate(directRate)} (no bot)`, ratio: fmtRatio(ratio(sentRate, directRate)), target: "—" },
    { metric: "throughput: backlog when the senders stop (accepted, not yet relayed), each run", value: perRun((r) => `${r.backlogAtStop} of ${r.sent}`), baseline: "—", ratio: "—", target: "—" },
    { metric: "throughput: customer messages relayed, each run (after draining)", value: perRun((r) => `${r.sent - r.backlogFinal} of ${r.sent}, ${r.duplicates} doubled`), baseline: "—", ratio: "—", target: "all, once", met: allRelayed },
    { metric: "throughput: operator replies sent during the burst (a second apart) that reached the customer, each run", value: perRun((r) => `${r.repliesDelivered} of ${r.repliesSent}, ${r.repliesDoubled} doubled`), baseline: "—", ratio: "—", target: "all, once", met: allReplies },
    { metric: `throughput: a quiet customer's relay while ${customersN} others flood, p50 (n=${quiet.n})`, value: fmtMs(quiet.p50), baseline: `${fmtMs(hop.p50)} (one hop between two people under the same flood, p50, n=${hop.n})`, ratio: fmtRatio(quietRatio), target: `≤ ${QUIET_TARGET.toFixed(1)}×`, met: quietRatio <= QUIET_TARGET },
    { metric: "throughput: a quiet customer's relay under the flood, p95", value: fmtMs(quiet.p95), baseline: `${fmtMs(hop.p95)} (one hop, p95)`, ratio: fmtRatio(ratio(quiet.p95, hop.p95)), target: "—" },
    { metric: `throughput: the same relay by a bare relayer under the same flood (a long-poll on one quiet room, then one send into its thread of the operators room: no bot), p50 (n=${bare.n}): the floor of any bot's quiet relay`, value: fmtMs(bare.p50), baseline: `${fmtMs(hop.p50)} (one hop, p50)`, ratio: fmtRatio(ratio(bare.p50, hop.p50)), target: "—" },
    { metric: "throughput: the bot's quiet relay over the bare relayer's, p50", value: fmtMs(quiet.p50), baseline: `${fmtMs(bare.p50)} (bare relayer, p50)`, ratio: fmtRatio(ratio(quiet.p50, bare.p50)), target: "—" },
    { metric: "throughput: where a quiet relay's time goes, p50: customer's send / bot (send answered → copy accepted) / operator's /sync", value: splitOf((r) => r.split.quietSend, (r) => r.split.quietBot, (r) => r.split.quietWatch), baseline: `${splitOf((r) => r.split.hopSend, (r) => r.split.hopWatch)} (one hop: send / /sync)`, ratio: "—", target: "—" },
    { metric: "throughput: the bot at a quiet customer's message, p50: /sync lag / events waiting", value: `${fmtMs(p50Of((r) => r.split.syncLag))} / ${Math.round(p50Of((r) => r.split.queued))}`, baseline: "—", ratio: "—", target: "—" },
    { metric: "throughput: relay rate while draining the backlog (customers quiet)", value: fmtRate(drainRate), baseline: `${fmtRate(directRate)} (no bot)`, ratio: fmtRatio(drainRatio), target: "≥ 1.0×", met: drainRatio >= 1 },
    { metric: "throughput: drain rate / direct rate / the homeserver's rate into the operators room once drained, each run", value: perRun((r) => `${fmtRate(r.drainRate)} / ${fmtRate(r.directRate)} / ${fmtRate(r.opsRoomRate)}`), baseline: "—", ratio: "—", target: "—" },
    { metric: `throughput: the homeserver's rate into the operators room once drained (a member of it, ${ONE_ROOM_IN_FLIGHT} sends at once into 50 threads, no bot work): the ceiling of a drain`, value: fmtRate(opsRoomRate), baseline: `${fmtRate(directRate)} (no bot, 50 rooms)`, ratio: fmtRatio(ratio(opsRoomRate, directRate)), target: "—" },
    { metric: "throughput: the operators room's forward extremities after each run (events no later event builds on; Synapse builds each new one on at most 10)", value: perRun((r) => String(r.extremities)), baseline: "—", ratio: "—", target: "≤ 10 each", met: results.every((r) => r.extremities <= 10) },
    { metric: "throughput: drain rate over that ceiling", value: fmtRate(drainRate), baseline: `${fmtRate(opsRoomRate)} (the operators room's rate)`, ratio: fmtRatio(ratio(drainRate, opsRoomRate)), target: "—" },
    { metric: `throughput: the homeserver's rate into one room (one account, ${ONE_ROOM_IN_FLIGHT} sends at once into 50 threads of a new room, no bot; measured once, before the runs)`, value: fmtRate(oneRoom), baseline: `${fmtRate(directRate)} (no bot, 50 rooms)`, ratio: fmtRatio(ratio(oneRoom, directRate)), target: "—" },
    { metric: "throughput: bot CPU time per relayed message", value: fmtMs(med((r) => r.cpuPerMessageMs)), baseline: "—", ratio: "—", target: "—" },
  ];
  return {
    rows,
    figures: {
      throughput_customers: customersN,
      throughput_duration_s: durationS,
      throughput_runs: results.length,
      throughput_direct_per_s: round(directRate),
      throughput_relayed_per_s: round(relayedRate),
      throughput_sent_while_relaying_per_s: round(sentRate),
      throughput_relay_ratio: round(ratio(relayedRate, directRate), 3),
      throughput_sent: sum((r) => r.sent),
      throughput_backlog_at_stop: sum((r) => r.backlogAtStop),
      throughput_backlog_final: sum((r) => r.backlogFinal),
      throughput_duplicates: sum((r) => r.duplicates),
      throughput_drain_ms: Math.round(med((r) => r.drainMs)),
      throughput_drain_per_s: round(drainRate),
      throughput_drain_ratio: round(drainRatio, 3),
      throughput_one_room_per_s: round(oneRoom),
      throughput_ops_room_per_s: round(opsRoomRate),
      throughput_ops_room_extremities_max: Math.max(...results.map((r) => r.extremities)),
      throughput_drain_ceiling_ratio: round(ratio(drainRate, opsRoomRate), 3),
      throughput_operator_replies_sent: sum((r) => r.repliesSent),
      throughput_operator_replies_delivered: sum((r) => r.repliesDelivered),
      throughput_operator_replies_doubled: sum((r) => r.repliesDoubled),
      throughput_bot_cpu_ms_per_message: round(med((r) => r.cpuPerMessageMs), 2),
      flood_quiet_samples: quiet.n,
      flood_quiet_relay_p50_ms: round(quiet.p50),
      flood_quiet_relay_p95_ms: round(quiet.p95),
      flood_one_hop_p50_ms: round(hop.p50),
      flood_one_hop_p95_ms: round(hop.p95),
      flood_quiet_ratio_p50: round(quietRatio, 3),
      flood_bare_relay_samples: bare.n,
      flood_bare_relay_p50_ms: round(bare.p50),
      flood_bare_ratio_p50: round(ratio(bare.p50, hop.p50), 3),
      flood_quiet_vs_bare_p50: round(ratio(quiet.p50, bare.p50), 3),
      flood_bare_relayer_p50_ms: round(p50Of((r) => r.split.bareRelayer)),
      flood_quiet_bot_p50_ms: round(p50Of((r) => r.split.quietBot)),
      flood_quiet_watch_p50_ms: round(p50Of((r) => r.split.quietWatch)),
      flood_one_hop_watch_p50_ms: round(p50Of((r) => r.split.hopWatch)),
      flood_bot_sync_lag_p50_ms: round(p50Of((r) => r.split.syncLag)),
    },
  };
}
