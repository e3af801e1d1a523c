// 4. CLI: `honoroit --help` and `honoroit tickets list --json` on 100,000 tickets, wall time and
// peak memory, against `node -e 0`, the floor of starting Node. The real bin/honoroit is run;
// its output goes to a file and is checked, so a run that printed less does not look fast.
import { readFileSync } from "node:fs";
import path from "node:path";
import { BIN, childEnv } from "../test/support/serve-process.ts";
import { peakMemoryMethod, timedRun } from "./proc.ts";
import { fmtMb, fmtMs, fmtRatio, type Row, type SectionResult } from "./report.ts";
import { seedTickets } from "./seed.ts";
import { median, ratio, round } from "./stats.ts";
import type { BenchContext } from "./world.ts";

interface Command {
  readonly key: string;
  readonly label: string;
  readonly args: readonly string[];
  /** Throws when the output is not what the command should print. */
  readonly check: (stdout: string) => void;
}

function jsonArrayOf(length: number): (stdout: string) => void {
  return (stdout) => {
    const parsed: unknown = JSON.parse(stdout);
    if (!Array.isArray(parsed) || parsed.length !== length) {
      throw new Error(`expected a JSON array of ${length} tickets, got ${Array.isArray(parsed) ? parsed.length : typeof parsed}`);
    }
  };
}

export async function runCliBench(ctx: BenchContext): Promise<SectionResult> {
  const tickets = ctx.quick ? 10_000 : 100_000;
  const runs = ctx.quick ? 3 : 7;
  const db = path.join(ctx.dir, "cli.db");
  const t0 = performance.now();
  // 2% still open, as a help desk that closes its requests would have.
  await seedTickets(db, { tickets, open: Math.floor(tickets / 50) });
  ctx.log(`cli: seeded ${tickets} tickets in ${Math.round(performance.now() - t0)} ms; ${runs} runs per command (peak memory: ${peakMemoryMethod()})`);

  const n = tickets.toLocaleString("en");
  const commands: Command[] = [
    { key: "node_floor", label: "`node -e 0`", args: ["-e", "0"], check: () => undefined },
    {
      key: "cli_help",
      label: "`honoroit --help`",
      args: [BIN, "--help"],
      check: (out) => {
        if (!out.includes("Usage: honoroit")) throw new Error("--help printed no usage");
      },
    },
    { key: "tickets_list_default", label: `\`honoroit tickets list --status all --json\`, ${n} tickets (default --limit 100)`, args: [BIN, "tickets", "list", "--status", "all", "--json"], check: jsonArrayOf(Math.min(100, tickets)) },
    { key: "tickets_list_all", label: `\`honoroit tickets list --status all --json --limit 0\`, all ${n} (tickets_list_100k_ms)`, args: [BIN, "tickets", "list", "--status", "all", "--json", "--limit", "0"], check: jsonArrayOf(tickets) },
  ];
  // No config file in the working folder; the database comes from the environment.
  const env = childEnv({ HONOROIT_DB_DSN: db });
  const wall = new Map<string, number[]>(commands.map((c) => [c.key, []]));
  const peak = new Map<string, number>(commands.map((c) => [c.key, 0]));
  // One unmeasured round fills the page cache; then the commands take turns.
  for (let round = 0; round <= runs; round++) {
    for (const command of commands) {
      const stdoutFile = path.join(ctx.dir, `${command.key}.out`);
      const result = await timedRun(process.execPath, command.args, { ...env }, stdoutFile);
      if (result.code !== 0) throw new Error(`${command.label} exited with ${String(result.code)}: ${result.stderr}`);
      if (round === 0) {
        command.check(readFileSync(stdoutFile, "utf8"));
        continue;
      }
      wall.get(command.key)?.push(result.wallMs);
      peak.set(command.key, Math.max(peak.get(command.key) ?? 0, result.peakMb));
    }
  }
  const ms = (key: string): number => median(wall.get(key) ?? []);
  const mb = (key: string): number => peak.get(key) ?? Number.NaN;
  const floor = { ms: ms("node_floor"), mb: mb("node_floor") };
  // The targets: help starts at most 1.5x as slowly as Node itself, and a listing of
  // everything takes at most 1.5x the memory of the first page (it is read while printed).
  const helpRatio = ratio(ms("cli_help"), floor.ms);
  const allVsPage = ratio(mb("tickets_list_all"), mb("tickets_list_default"));
  const rows: Row[] = [];
  for (const command of commands.slice(1)) {
    const help = command.key === "cli_help";
    rows.push({
      metric: `${command.label}: wall time (median of ${runs})`,
      value: fmtMs(ms(command.key)),
      baseline: `${fmtMs(floor.ms)} (\`node -e 0\`)`,
      ratio: fmtRatio(ratio(ms(command.key), floor.ms)),
      target: help ? "≤ 1.5×" : "—",
      ...(help ? { met: helpRatio <= 1.5 } : {}),
    });
    rows.push({
      metric: `${command.label}: peak memory`,
      value: fmtMb(mb(command.key)),
      baseline: `${fmtMb(floor.mb)} (\`node -e 0\`)`,
      ratio: fmtRatio(ratio(mb(command.key), floor.mb)),
      target: "—",
    });
  }
  rows.push({
    metric: `\`honoroit tickets list --status all --json --limit 0\`, all ${n}: peak memory against the first 100`,
    value: fmtMb(mb("tickets_list_all")),
    baseline: `${fmtMb(mb("tickets_list_default"))} (default --limit 100)`,
    ratio: fmtRatio(allVsPage),
    target: "≤ 1.5×",
    met: allVsPage <= 1.5,
  });
  return {
    rows,
    figures: {
      cli_runs: runs,
      cli_tickets: tickets,
      node_floor_ms: round(floor.ms),
      node_floor_peak_mb: round(floor.mb),
      cli_help_ms: round(ms("cli_help")),
      cli_help_peak_mb: round(mb("cli_help")),
      tickets_list_100k_default_ms: round(ms("tickets_list_default")),
      tickets_list_100k_default_peak_mb: round(mb("tickets_list_default")),
      tickets_list_100k_ms: round(ms("tickets_list_all")),
      tickets_list_100k_peak_mb: round(mb("tickets_list_all")),
      cli_help_ratio: round(helpRatio, 3),
      tickets_list_100k_peak_vs_default: round(allVsPage, 3),
    },
  };
}
