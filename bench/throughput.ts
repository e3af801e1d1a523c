// 2. Throughput: 50 customers each sending as fast as the homeserver answers, for 60 s. First
// into rooms without the bot (the rate Synapse accepts from these clients: the baseline), then
// into their tickets while the bot relays. Relayed = copies the operator's client saw in the
// window; backlog = messages accepted but not yet seen, when the senders stop and after the bot
// has been given time to drain (nothing may be lost or doubled). An operator answers once a
// second during the burst: those replies must reach their customers too.
import { ClientEvent } from "matrix-js-sdk";
import type { MatrixEvent } from "matrix-js-sdk";
import { createRoom, join, messagesFrom, sendInThread, sendText, type Account } from "./matrix-http.ts";
import { bodyOf, clientHasRoom, threadOf } from "./observe.ts";
import { mapLimit, sleep } from "./pool.ts";
import { cpuMs } from "./proc.ts";
import { fmtMs, fmtRatio, fmtRate, type SectionResult } from "./report.ts";
import { ratio, round } from "./stats.ts";
import { BenchWorld, type BenchContext } from "./world.ts";

const TAG = /\btp-(\w+)-(\d+)-(\d+)$/;

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
  const drainLimitS = ctx.quick ? 60 : 180;
  const world = new BenchWorld(ctx);
  try {
    const { hs } = ctx;
    const operator = await world.person("operator", "Olga Operator");
    const desk = await world.desk(operator.account, { name: "throughput" });
    const bot = desk.bot.userId;
    const peer = await world.account("peer", "Peer");
    const customers = await world.accounts("customer", customersN);
    const dms = await mapLimit(customers, 10, (c) => world.openDm(c, bot));
    // The baseline rooms: the same customers, each with one other member, and no bot.
    const plain = await mapLimit(customers, 10, async (c) => {
      const room = await createRoom(hs, c, { invite: [peer.userId] });
      await join(hs, peer, room);
      return room;
    });
    await clientHasRoom(operator.client, desk.opsRoom);

    // What the operator sees: each copy in a thread, by tag, with the moment it arrived.
    const copies = new Map<string, number>();
    let duplicates = 0;
    const roots = new Map<string, string>();
    const onEvent = (ev: MatrixEvent): void => {
      if (ev.getRoomId() !== desk.opsRoom || ev.getSender() !== bot) return;
      const customer: unknown = ev.getContent()["customer"];
      if (typeof customer === "string" && bodyOf(ev).startsWith("[OPEN]")) roots.set(customer, ev.getId() ?? "");
      if (threadOf(ev) === undefined) return;
      const tag = TAG.exec(bodyOf(ev))?.[0];
      if (tag === undefined) return;
      if (copies.has(tag)) duplicates += 1;
      else copies.set(tag, performance.now());
    };
    operator.client.on(ClientEvent.Event, onEvent);
    const seenOf = (phase: string): number => [...copies.keys()].filter((k) => k.startsWith(`tp-${phase}-`)).length;
    const waitSeen = async (phase: string, n: number, limitMs: number): Promise<number> => {
      const deadline = performance.now() + limitMs;
      while (seenOf(phase) < n && performance.now() < deadline) await sleep(100);
      return seenOf(phase);
    };

    try {
      // Open every ticket first: the measured window is relaying, not opening.
      await Promise.all(customers.map((c, i) => sendText(hs, c, dms[i] ?? "", `tp-open-${i}-0`)));
      if ((await waitSeen("open", customersN, 120_000)) < customersN) throw new Error("not every ticket was opened within 120 s");
      ctx.log(`throughput: ${customersN} tickets open; ${durationS} s direct, then ${durationS} s through the bot`);

      const direct = await sendLoop(ctx, customers, plain, "direct", performance.now() + durationS * 1000);
      await sleep(5000);

      const cpuBefore = cpuMs(desk.serve.pid ?? 0);
      const started = performance.now();
      const end = started + durationS * 1000;
      // Meanwhile an operator answers once a second, each time in another customer's thread.
      const [relay, replies] = await Promise.all([
        sendLoop(ctx, customers, dms, "relay", end),
        (async () => {
          const sent: { customer: number; text: string }[] = [];
          for (let i = 0; performance.now() < end; i++) {
            const customer = i % customersN;
            const text = `op-reply-${i}`;
            await sendInThread(hs, operator.account, desk.opsRoom, roots.get(customers[customer]?.userId ?? "") ?? "", text);
            sent.push({ customer, text });
            await sleep(1000);
          }
          return sent;
        })(),
      ]);
      const stoppedAt = performance.now();
      const relayedInWindow = [...copies].filter(([k, at]) => k.startsWith("tp-relay-") && at <= end).length;
      const seenAtStop = seenOf("relay");
      const backlogAtStop = relay.total - seenAtStop;
      const seenAll = await waitSeen("relay", relay.total, drainLimitS * 1000);
      const drainMs = performance.now() - stoppedAt;
      const cpuUsed = cpuMs(desk.serve.pid ?? 0) - cpuBefore;
      const backlogFinal = relay.total - seenAll;
      // Every operator reply must have reached its customer, once.
      const replyDeadline = performance.now() + 60_000;
      let repliesDelivered = 0;
      let repliesDoubled = 0;
      for (;;) {
        const received = await mapLimit(dms, 10, (room, i) => messagesFrom(hs, customers[i] ?? peer, room, bot));
        const bodies = received.flat().map((m) => m.body);
        repliesDelivered = replies.filter((r) => bodies.includes(r.text)).length;
        repliesDoubled = replies.filter((r) => bodies.filter((b) => b === r.text).length > 1).length;
        if (repliesDelivered === replies.length || performance.now() > replyDeadline) break;
        await sleep(2000);
      }
      // With the customers quiet, the homeserver is the bot's alone: how fast it catches up.
      const drainRate = backlogAtStop > 0 ? (seenAll - seenAtStop) / (drainMs / 1000) : Number.NaN;

      const directRate = direct.inWindow / durationS;
      const relayedRate = relayedInWindow / durationS;
      const sentRate = relay.inWindow / durationS;
      const label = `${customersN} customers, ${durationS} s`;
      return {
        rows: [
          {
            metric: `throughput: customer messages relayed per second (${label})`,
            value: fmtRate(relayedRate),
            baseline: `${fmtRate(directRate)} (Synapse accepts from the same clients, no bot)`,
            ratio: fmtRatio(ratio(relayedRate, directRate)),
            target: "—",
          },
          {
            metric: "throughput: customers' own send rate while the bot relays",
            value: fmtRate(sentRate),
            baseline: `${fmtRate(directRate)} (no bot)`,
            ratio: fmtRatio(ratio(sentRate, directRate)),
            target: "—",
          },
          {
            metric: "throughput: backlog when the senders stop (accepted, not yet relayed)",
            value: `${backlogAtStop} of ${relay.total}`,
            baseline: "—",
            ratio: "—",
            target: "—",
          },
          {
            metric: `throughput: backlog at the end (after draining, ${fmtMs(drainMs)})`,
            value: `${backlogFinal} (${duplicates} doubled)`,
            baseline: "—",
            ratio: "—",
            target: "0 lost, 0 doubled",
            met: backlogFinal === 0 && duplicates === 0,
          },
          {
            metric: "throughput: operator replies sent during the burst (a second apart) that reached the customer",
            value: `${repliesDelivered} of ${replies.length} (${repliesDoubled} doubled)`,
            baseline: "—",
            ratio: "—",
            target: "all, once",
            met: repliesDelivered === replies.length && repliesDoubled === 0,
          },
          {
            metric: "throughput: relay rate while draining that backlog (customers quiet)",
            value: fmtRate(drainRate),
            baseline: `${fmtRate(directRate)} (no bot)`,
            ratio: fmtRatio(ratio(drainRate, directRate)),
            target: "—",
          },
          {
            metric: "throughput: bot CPU time per relayed message",
            value: fmtMs(cpuUsed / Math.max(1, seenAll)),
            baseline: "—",
            ratio: "—",
            target: "—",
          },
        ],
        figures: {
          throughput_customers: customersN,
          throughput_duration_s: durationS,
          throughput_direct_per_s: round(directRate),
          throughput_relayed_per_s: round(relayedRate),
          throughput_sent_while_relaying_per_s: round(sentRate),
          throughput_relay_ratio: round(ratio(relayedRate, directRate), 3),
          throughput_sent: relay.total,
          throughput_backlog_at_stop: backlogAtStop,
          throughput_backlog_final: backlogFinal,
          throughput_duplicates: duplicates,
          throughput_drain_ms: Math.round(drainMs),
          throughput_drain_per_s: round(drainRate),
          throughput_operator_replies_sent: replies.length,
          throughput_operator_replies_delivered: repliesDelivered,
          throughput_bot_cpu_ms_per_message: round(cpuUsed / Math.max(1, seenAll), 2),
        },
      };
    } finally {
      operator.client.removeListener(ClientEvent.Event, onEvent);
    }
  } finally {
    await world.dispose();
  }
}
