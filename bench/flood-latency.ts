// Latency under the throughput section's flood, sampled in turn: a quiet customer's relay
// through the bot; one person writing to another in a plain room (one hop); and the same relay
// done by a bare relayer, an account with no bot, no database and no queue, which long-polls
// one quiet room and sends each message it sees into its thread of the operators room. The
// bare relay is the floor of any bot's quiet relay under that flood: two hops through the
// homeserver, the second into the flooded operators room. All three are watched by bare /sync
// long-polls, started and timed the same way.
import { randomBytes } from "node:crypto";
import { createRoom, invite, join, sendInThread, sendText, type Account } from "../test/support/matrix-http.ts";
import { sleep } from "./pool.ts";
import { RoomWatcher } from "./raw-sync.ts";
import type { BenchContext, BenchWorld, Desk } from "./world.ts";

/** Who takes part: the quiet customer and their ticket, the one-hop pair, the bare relayer. */
export interface FloodCast {
  readonly desk: Desk;
  readonly operator: Account;
  readonly quiet: Account;
  readonly quietDm: string;
  readonly hopFrom: Account;
  readonly hopTo: Account;
  readonly hopRoom: string;
  readonly bare: BareRelay;
}

/** The bare relayer: a member of the operators room with a thread of its own there. */
export interface BareRelay {
  readonly relayer: Account;
  /** Writes to the relayer, in a plain room of the two. */
  readonly writer: Account;
  readonly room: string;
  /** The relayer's thread root in the operators room. */
  readonly root: string;
  /** 50 more threads of the relayer's there, for the room's rate. */
  readonly roots: readonly string[];
}

/** Where the time of each sample went, in ms. */
export interface Split {
  /** The sender's PUT, until the homeserver answered. */
  readonly quietSend: number[];
  /** From that answer until the bot's copy was accepted (the copy's server timestamp). */
  readonly quietBot: number[];
  /** From the copy's server timestamp until the watching operator's /sync had it. */
  readonly quietWatch: number[];
  readonly hopSend: number[];
  readonly hopWatch: number[];
  /** The bare relayer's part: from the writer's send answered until its copy was accepted. */
  readonly bareRelayer: number[];
  /** The bot's own figures at each sample: its /sync lag (ms) and events waiting. */
  readonly syncLag: number[];
  readonly queued: number[];
}

export interface FloodSamples {
  readonly quiet: number[];
  readonly hop: number[];
  readonly bare: number[];
  readonly split: Split;
}

/** The bare relayer joins the operators room (invited by the operator) and opens its thread there. */
export async function setUpBareRelay(ctx: BenchContext, world: BenchWorld, desk: Desk, operator: Account): Promise<BareRelay> {
  const { hs } = ctx;
  const [relayer, writer] = await world.accounts("bare", 2);
  if (relayer === undefined || writer === undefined) throw new Error("no accounts for the bare relay");
  await invite(hs, operator, desk.opsRoom, relayer.userId);
  await join(hs, relayer, desk.opsRoom);
  const room = await createRoom(hs, writer, { invite: [relayer.userId] });
  await join(hs, relayer, room);
  // Top-level messages: the bot answers each with its "not in a request's thread" notice, once,
  // before anything is timed; the relayer's thread replies it then leaves alone.
  const root = await sendText(hs, relayer, desk.opsRoom, "bare relay: a thread of its own");
  const roots: string[] = [];
  for (let i = 0; i < 50; i++) roots.push(await sendText(hs, relayer, desk.opsRoom, `bare relay: thread ${i}`));
  return { relayer, writer, room, root, roots };
}

/** Samples the three in turn, a second apart, until `end` (performance.now()). */
export async function floodSamples(ctx: BenchContext, cast: FloodCast, end: number): Promise<FloodSamples> {
  const { hs } = ctx;
  const ops = new RoomWatcher(hs, cast.operator, cast.desk.opsRoom);
  const hop = new RoomWatcher(hs, cast.hopTo, cast.hopRoom);
  const relayerInbox = new RoomWatcher(hs, cast.bare.relayer, cast.bare.room);
  await Promise.all([ops.start(), hop.start(), relayerInbox.start()]);
  const samples: FloodSamples = {
    quiet: [],
    hop: [],
    bare: [],
    split: { quietSend: [], quietBot: [], quietWatch: [], hopSend: [], hopWatch: [], bareRelayer: [], syncLag: [], queued: [] },
  };
  const { split } = samples;
  try {
    // Let the flood build up before the first sample.
    await sleep(3000);
    for (let i = 0; performance.now() < end - 3000; i++) {
      const nonce = `q-${randomBytes(6).toString("hex")}`;
      const kind = (["relay", "hop", "bare"] as const)[i % 3] ?? "relay";
      if (kind === "hop") {
        const seen = hop.seen((b) => b === nonce);
        const t0 = performance.now();
        await sendText(hs, cast.hopFrom, cast.hopRoom, nonce);
        const answered = performance.now();
        const arrived = await seen;
        samples.hop.push(arrived.at - t0);
        split.hopSend.push(answered - t0);
        split.hopWatch.push(arrived.wallAt - arrived.serverTs);
      } else if (kind === "relay") {
        const seen = ops.seen((b) => b.endsWith(`\n${nonce}`));
        const t0 = performance.now();
        await sendText(hs, cast.quiet, cast.quietDm, nonce);
        const answered = performance.now();
        const answeredWall = Date.now();
        const bot = botFigures(cast.desk.http);
        const arrived = await seen;
        samples.quiet.push(arrived.at - t0);
        split.quietSend.push(answered - t0);
        split.quietBot.push(arrived.serverTs - answeredWall);
        split.quietWatch.push(arrived.wallAt - arrived.serverTs);
        const figures = await bot;
        if (figures !== undefined) {
          split.syncLag.push(figures.syncLagMs);
          split.queued.push(figures.queued);
        }
      } else {
        const seen = ops.seen((b) => b.endsWith(`\n${nonce}`));
        const relayed = relayerInbox.seen((b) => b === nonce);
        // The relayer sends as soon as its long-poll has the message, answered or not.
        const forwarded = relayed.then(() => sendInThread(hs, cast.bare.relayer, cast.desk.opsRoom, cast.bare.root, `Bare writer:\n${nonce}`));
        const t0 = performance.now();
        await sendText(hs, cast.bare.writer, cast.bare.room, nonce);
        const answeredWall = Date.now();
        await forwarded;
        const arrived = await seen;
        samples.bare.push(arrived.at - t0);
        split.bareRelayer.push(arrived.serverTs - answeredWall);
      }
      await sleep(1000);
    }
  } finally {
    await Promise.all([ops.stop(), hop.stop(), relayerInbox.stop()]);
  }
  return samples;
}

/** The bot's /sync lag and queue, from its /metrics (undefined when it does not answer). */
async function botFigures(http: string): Promise<{ syncLagMs: number; queued: number } | undefined> {
  try {
    const text = await (await fetch(`${http}/metrics`)).text();
    const gauge = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
    return { syncLagMs: gauge("honoroit_sync_lag_seconds") * 1000, queued: gauge("honoroit_events_queued") };
  } catch {
    return undefined;
  }
}
