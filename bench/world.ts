// The accounts, rooms and `honoroit serve` processes a benchmark section needs, on the real
// Synapse, and their clean-up. A "desk" is one bot with its operators room and its serve process.
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { MatrixClient } from "matrix-js-sdk";
import { freePort, ServeProcess } from "../test/support/serve-process.ts";
import { registerUser, stopClient, uniqueName, type SynapseEnv } from "../test/support/synapse.ts";
import { createRoom, setDisplayName, waitForMembership, type Account } from "../test/support/matrix-http.ts";
import { startPersonClient } from "./person-client.ts";
import { mapLimit } from "./pool.ts";

/** What every section gets from the runner. */
export interface BenchContext {
  readonly hs: SynapseEnv;
  /** Shorter runs and smaller counts, for a smoke test. */
  readonly quick: boolean;
  /** How many times a repeated section (throughput) runs; its own default when unset. */
  readonly runs?: number;
  /** serve's HONOROIT_LOGLEVEL. */
  readonly serveLogLevel: "info" | "debug";
  /** A scratch folder of this run (databases, outputs). */
  readonly dir: string;
  log(message: string): void;
}

/** An account with a started matrix-js-sdk client: sees events the way a person's app does. */
export interface Person {
  readonly account: Account;
  readonly client: MatrixClient;
}

/** A bot, its operators room and the `honoroit serve` running it. */
export interface Desk {
  readonly bot: Account;
  readonly opsRoom: string;
  readonly env: Record<string, string>;
  readonly serve: ServeProcess;
  /** Base URL of the bot's /metrics and /_health. */
  readonly http: string;
}

export const PASSWORD = "bench password that is long enough";

/** Everything a section created, released by `dispose`. */
export class BenchWorld {
  private readonly clients: MatrixClient[] = [];
  private readonly serves: { name: string; serve: ServeProcess }[] = [];

  constructor(readonly ctx: BenchContext) {}

  get hs(): SynapseEnv {
    return this.ctx.hs;
  }

  /** Registers an account through the admin API (no client, no sync). */
  async account(prefix: string, displayname?: string): Promise<Account> {
    const account = await registerUser(this.hs, uniqueName(prefix), PASSWORD);
    if (displayname !== undefined) await setDisplayName(this.hs, account, displayname);
    return account;
  }

  /** Registers `n` accounts, a few at a time. */
  accounts(prefix: string, n: number): Promise<Account[]> {
    return mapLimit(Array.from({ length: n }, (_, i) => i), 8, (i) => this.account(prefix, `${prefix} ${i + 1}`));
  }

  /** Registers an account and starts a matrix-js-sdk client on it (with `crypto`, one that reads and writes encrypted rooms). */
  async person(prefix: string, displayname: string, opts: { crypto?: boolean } = {}): Promise<Person> {
    const account = await this.account(prefix, displayname);
    const client = await startPersonClient(this.hs, account, opts);
    this.clients.push(client);
    return { account, client };
  }

  /**
   * A new bot whose operators room is created by `operator` (end-to-end encrypted with
   * `encrypted`), served by `honoroit serve` on `db` (a fresh SQLite file by default); resolves
   * once the bot has joined that room.
   */
  async desk(operator: Account, opts: { name: string; db?: string; env?: Record<string, string>; encrypted?: boolean }): Promise<Desk> {
    const bot = await registerUser(this.hs, uniqueName(`honoroit-${opts.name}`), PASSWORD);
    const opsRoom = await createRoom(this.hs, operator, { invite: [bot.userId], name: `Support ${opts.name}`, encrypted: opts.encrypted === true });
    const port = await freePort();
    const env = {
      HONOROIT_HOMESERVER: this.hs.url,
      HONOROIT_LOGIN: bot.userId.slice(1, bot.userId.indexOf(":")),
      HONOROIT_PASSWORD: PASSWORD,
      HONOROIT_ROOMID: opsRoom,
      HONOROIT_DB_DSN: opts.db ?? path.join(this.ctx.dir, `${opts.name}-${port}.db`),
      HONOROIT_PORT: String(port),
      HONOROIT_LOGLEVEL: this.ctx.serveLogLevel,
      ...opts.env,
    };
    const serve = await ServeProcess.start(env, { timeoutMs: 60_000 });
    this.serves.push({ name: opts.name, serve });
    await waitForMembership(this.hs, operator, opsRoom, bot.userId, { present: true, what: `${opts.name}: the bot to join its operators room` });
    return { bot, opsRoom, env, serve, http: `http://127.0.0.1:${port}` };
  }

  /** The customer opens a direct chat with the bot (encrypted with `encrypted`); resolves once the bot has joined it. */
  async openDm(customer: Account, bot: string, opts: { encrypted?: boolean } = {}): Promise<string> {
    const room = await createRoom(this.hs, customer, { invite: [bot], direct: true, encrypted: opts.encrypted === true });
    await waitForMembership(this.hs, customer, room, bot, { present: true, what: "the bot to join a customer's direct chat" });
    return room;
  }

  /** Stops every serve (SIGTERM, then SIGKILL after 10 s) and every client; echoes serve's warnings. */
  async dispose(): Promise<void> {
    for (const { name, serve } of this.serves.splice(0)) {
      // Kept with --keep, for a look at what the bot did.
      writeFileSync(path.join(this.ctx.dir, `serve-${name}.log`), serve.output);
      const problems = serve.output.split("\n").filter((line) => / (WARN|ERROR) /.test(line));
      for (const line of problems.slice(0, 20)) this.ctx.log(`serve: ${line}`);
      if (problems.length > 20) this.ctx.log(`serve: … and ${problems.length - 20} more warnings and errors`);
      const kill = setTimeout(() => void serve.stop("SIGKILL"), 10_000);
      await serve.stop("SIGTERM");
      clearTimeout(kill);
    }
    for (const client of this.clients.splice(0)) stopClient(client);
  }
}

/** Counters and gauges from a bot's /metrics, by series (labels included) name. */
export async function botMetrics(desk: Desk): Promise<Map<string, number>> {
  const text = await (await fetch(`${desk.http}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const cut = line.lastIndexOf(" ");
    values.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return values;
}

/** The sum of every series of a metric (all label sets). */
export function metricSum(values: ReadonlyMap<string, number>, name: string): number {
  let sum = 0;
  for (const [series, value] of values) {
    if (series === name || series.startsWith(`${name}{`)) sum += value;
  }
  return sum;
}
