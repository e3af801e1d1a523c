// 7. From `honoroit serve` to syncing, the built binary run directly (as the systemd unit runs
// it), beside `node -e 0` measured in the same rounds. "Syncing" is what a person can observe:
// /_health answers 200 (logged in, in the operators room, the database open) and, on a first
// start, the log says the first /sync is done. Two cases: a new bot's first start (an empty
// database: password login, first /sync, joining its operators room on the invite) and a
// restart (the session and the sync position saved by the run before).
import { spawn } from "node:child_process";
import path from "node:path";
import { registerUser, uniqueName } from "../test/support/synapse.ts";
import { BIN, childEnv, freePort } from "../test/support/serve-process.ts";
import { createRoom, type Account } from "../test/support/matrix-http.ts";
import { timedRun } from "./proc.ts";
import { fmtMs, fmtRatio, type Row, type SectionResult } from "./report.ts";
import { median, ratio, round } from "./stats.ts";
import { PASSWORD, type BenchContext } from "./world.ts";

/** Log lines of a start, in order, each timed from the spawn when its line arrived. */
const PHASES = [
  { key: "http", line: " HTTP server listening" },
  { key: "login", line: " logged in to Matrix" },
  { key: "serving", line: " serving " },
  { key: "first_sync", line: " first sync done" },
] as const;
type Phase = (typeof PHASES)[number]["key"];

interface Start {
  /** Until /_health answered 200 and, when asked for, the first sync was logged. */
  readonly syncingMs: number;
  readonly phases: Partial<Record<Phase, number>>;
}

/**
 * Starts `honoroit serve` with `env`, polls /_health every 5 ms, stops it with SIGTERM once it
 * is syncing and waits for it to exit (with 0, or this throws).
 */
async function timeStart(env: Record<string, string>, port: number, firstSync: boolean): Promise<Start> {
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, "serve"], { env: childEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const phases: Partial<Record<Phase, number>> = {};
  const take = (d: Buffer): void => {
    const at = performance.now() - started;
    output += d.toString();
    for (const phase of PHASES) if (phases[phase.key] === undefined && output.includes(phase.line)) phases[phase.key] = at;
  };
  child.stdout.on("data", take);
  child.stderr.on("data", take);
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  let healthyAt: number | undefined;
  const deadline = started + 60_000;
  while (healthyAt === undefined || (firstSync && phases.first_sync === undefined)) {
    if (exitCode !== undefined) throw new Error(`honoroit serve exited with ${String(exitCode)} before syncing:\n${output}`);
    if (performance.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`honoroit serve was not syncing after 60 s:\n${output}`);
    }
    if (healthyAt === undefined) {
      const ok = await fetch(`http://127.0.0.1:${port}/_health`).then(
        async (res) => {
          await res.arrayBuffer();
          return res.status === 200;
        },
        () => false,
      );
      if (ok) healthyAt = performance.now() - started;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const syncingMs = Math.max(healthyAt, firstSync ? (phases.first_sync ?? Number.NaN) : 0);
  child.kill("SIGTERM");
  const code = await exited;
  if (code !== 0) throw new Error(`honoroit serve exited with ${String(code)} on SIGTERM:\n${output}`);
  return { syncingMs, phases };
}

/** A new bot, invited to a new operators room, with an empty database and a free port. */
async function newBot(ctx: BenchContext, operator: Account, i: number): Promise<{ env: Record<string, string>; port: number }> {
  const name = uniqueName("honoroit-start");
  const bot = await registerUser(ctx.hs, name, PASSWORD);
  const opsRoom = await createRoom(ctx.hs, operator, { invite: [bot.userId], name: `Support start ${i}` });
  const port = await freePort();
  const env = {
    HONOROIT_HOMESERVER: ctx.hs.url,
    HONOROIT_LOGIN: name,
    HONOROIT_PASSWORD: PASSWORD,
    HONOROIT_ROOMID: opsRoom,
    HONOROIT_DB_DSN: path.join(ctx.dir, `serve-start-${i}.db`),
    HONOROIT_PORT: String(port),
    HONOROIT_LOGLEVEL: "info",
  };
  return { env, port };
}

export async function runServeStart(ctx: BenchContext): Promise<SectionResult> {
  const runs = ctx.quick ? 3 : 7;
  const operator = await registerUser(ctx.hs, uniqueName("operator"), PASSWORD);
  const bots = [];
  for (let i = 0; i <= runs; i++) bots.push(await newBot(ctx, operator, i));
  const floor: number[] = [];
  const first: Start[] = [];
  const restart: Start[] = [];
  const nodeOut = path.join(ctx.dir, "serve-start-node.out");
  // Round 0 is not measured (it fills the page cache); then the three take turns. Each first
  // start is a new bot; the restart after it starts that bot again, with what it saved.
  for (let round = 0; round <= runs; round++) {
    const bot = bots[round];
    if (bot === undefined) break;
    const node = await timedRun(process.execPath, ["-e", "0"], childEnv({}), nodeOut);
    if (node.code !== 0) throw new Error(`node -e 0 exited with ${String(node.code)}`);
    const fresh = await timeStart(bot.env, bot.port, true);
    const again = await timeStart(bot.env, bot.port, false);
    if (round === 0) continue;
    floor.push(node.wallMs);
    first.push(fresh);
    restart.push(again);
  }
  const floorMs = median(floor);
  const firstMs = median(first.map((s) => s.syncingMs));
  const restartMs = median(restart.map((s) => s.syncingMs));
  const phase = (starts: readonly Start[], key: Phase): number => median(starts.map((s) => s.phases[key] ?? Number.NaN).filter((v) => Number.isFinite(v)));
  const breakdown = (starts: readonly Start[]): string =>
    `HTTP up ${fmtMs(phase(starts, "http"))}, logged in ${fmtMs(phase(starts, "login"))}, serving ${fmtMs(phase(starts, "serving"))}${starts === first ? `, first sync ${fmtMs(phase(starts, "first_sync"))}` : ""}`;
  ctx.log(`serve-start: first start: ${breakdown(first)}; syncing ${fmtMs(firstMs)}`);
  ctx.log(`serve-start: restart: ${breakdown(restart)}; syncing ${fmtMs(restartMs)}`);
  const rows: Row[] = [
    {
      metric: `\`honoroit serve\` → syncing, a new bot's first start (password login, first /sync, operators room joined; /_health 200), median of ${runs}`,
      value: fmtMs(firstMs),
      baseline: `${fmtMs(floorMs)} (\`node -e 0\`)`,
      ratio: fmtRatio(ratio(firstMs, floorMs)),
      target: "—",
    },
    {
      metric: `\`honoroit serve\` → syncing, a restart (saved session and sync position; /_health 200), median of ${runs}`,
      value: fmtMs(restartMs),
      baseline: `${fmtMs(floorMs)} (\`node -e 0\`)`,
      ratio: fmtRatio(ratio(restartMs, floorMs)),
      target: "—",
    },
  ];
  return {
    rows,
    figures: {
      serve_start_runs: runs,
      serve_start_node_floor_ms: round(floorMs),
      serve_start_first_ms: round(firstMs),
      serve_start_first_http_ms: round(phase(first, "http")),
      serve_start_first_login_ms: round(phase(first, "login")),
      serve_start_first_serving_ms: round(phase(first, "serving")),
      serve_start_first_sync_ms: round(phase(first, "first_sync")),
      serve_start_restart_ms: round(restartMs),
      serve_start_restart_http_ms: round(phase(restart, "http")),
      serve_start_restart_login_ms: round(phase(restart, "login")),
      serve_start_restart_serving_ms: round(phase(restart, "serving")),
      serve_start_first_ratio: round(ratio(firstMs, floorMs), 3),
      serve_start_restart_ratio: round(ratio(restartMs, floorMs), 3),
    },
  };
}
