// `npm run bench`: relay latency, throughput, new-ticket cost, CLI start-up, serve memory, the Go import, serve's start, the Redmine sync
// and end-to-end encryption,
// each beside a baseline measured in the same run, against the real Synapse of the tests.
// Prints one table and writes bench/results.json. Not part of `npm test`.
//
//   npm run bench                          every section, the full parameters
//   npm run bench -- --quick               shorter runs and smaller counts (a smoke run)
//   npm run bench -- --only latency,cli    some sections
//   npm run bench -- --out FILE            where to write the results
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { synapseFromEnv } from "../test/support/synapse.ts";
import { runCliBench } from "./cli.ts";
import { runEncryption } from "./encryption.ts";
import { runGoImport } from "./go-import.ts";
import { runLatency } from "./latency.ts";
import { serverVersion } from "../test/support/matrix-http.ts";
import { runMemory } from "./memory.ts";
import { runNewTicket } from "./new-ticket.ts";
import { runRedmine } from "./redmine.ts";
import { machineLine, renderTable, type Figures, type Row, type SectionResult } from "./report.ts";
import { runServeStart } from "./serve-start.ts";
import { runThroughput } from "./throughput.ts";
import type { BenchContext } from "./world.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

interface Section {
  readonly name: string;
  readonly needsSynapse: boolean;
  readonly run: (ctx: BenchContext) => Promise<SectionResult>;
}

const SECTIONS: readonly Section[] = [
  { name: "latency", needsSynapse: true, run: runLatency },
  { name: "throughput", needsSynapse: true, run: runThroughput },
  { name: "new-ticket", needsSynapse: true, run: runNewTicket },
  { name: "cli", needsSynapse: false, run: runCliBench },
  { name: "memory", needsSynapse: true, run: runMemory },
  { name: "go-import", needsSynapse: true, run: runGoImport },
  { name: "serve-start", needsSynapse: true, run: runServeStart },
  { name: "redmine", needsSynapse: true, run: runRedmine },
  { name: "encryption", needsSynapse: true, run: runEncryption },
];

const USAGE = `usage: npm run bench -- [--quick] [--only ${SECTIONS.map((s) => s.name).join(",")}] [--out FILE] [--keep] [--runs N] [--debug-log]
  --quick   shorter durations and smaller counts, for a smoke run
  --only    run only these sections (comma-separated)
  --out     write the results there (default: bench/results.json for a full run; a partial or
            quick run writes nothing unless --out is given, so it cannot replace full results)
  --keep    keep the scratch folder (databases, CLI outputs)
  --runs    how many times the throughput section repeats its run (default 3; 1 with --quick)
  --debug-log  run serve at HONOROIT_LOGLEVEL=debug: with --keep, its serve-*.log has a line
            for each handled event, with where its time went
Needs a built package (npm run build) and a Synapse: bash test/synapse/setup.sh && bash test/synapse/start.sh,
then export the HONOROIT_TEST_HOMESERVER and HONOROIT_TEST_SYNAPSE_SECRET lines it prints.`;

interface Args {
  readonly quick: boolean;
  readonly only: readonly string[] | undefined;
  readonly out: string | undefined;
  readonly keep: boolean;
  readonly runs: number | undefined;
  readonly debugLog: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  let quick = false;
  let keep = false;
  let debugLog = false;
  let runs: number | undefined;
  let only: string[] | undefined;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === "") fail(`${flag} needs a value`);
      return v;
    };
    if (flag === "--quick") quick = true;
    else if (flag === "--keep") keep = true;
    else if (flag === "--debug-log") debugLog = true;
    else if (flag === "--runs") {
      runs = Number(value());
      if (!Number.isInteger(runs) || runs < 1) fail("--runs needs a whole number of at least 1");
    }
    else if (flag === "--only") only = value().split(",").map((s) => s.trim()).filter((s) => s !== "");
    else if (flag === "--out") out = value();
    else if (flag === "--help" || flag === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else fail(`unknown argument: ${arg}`);
  }
  const unknown = only?.filter((n) => !SECTIONS.some((s) => s.name === n)) ?? [];
  if (unknown.length > 0) fail(`unknown section(s): ${unknown.join(", ")}`);
  return { quick, only, out, keep, runs, debugLog };
}

function fail(message: string): never {
  console.error(`bench: ${message}\n${USAGE}`);
  process.exit(2);
}

/** The newest modification time of any file under a folder. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** The sections run `bin/honoroit`, which loads dist/: it must exist; a stale one is reported. */
function checkBuild(): boolean {
  const main = path.join(ROOT, "dist", "cli", "main.js");
  if (!existsSync(main)) fail("dist/ is missing: run `npm run build` first (the benchmark runs the built bin/honoroit)");
  const stale = newestMtime(path.join(ROOT, "src")) > statSync(main).mtimeMs;
  console.log(stale
    ? "bench: warning: src/ has changes newer than dist/; the built package is measured (run `npm run build` to measure them)"
    : "bench: measuring the built package in dist/");
  return stale;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const sections = SECTIONS.filter((s) => args.only === undefined || args.only.includes(s.name));
  const partial = args.quick || sections.length < SECTIONS.length;
  const hs = synapseFromEnv();
  if (hs === undefined && sections.some((s) => s.needsSynapse)) {
    console.error(`bench: no homeserver: HONOROIT_TEST_HOMESERVER and HONOROIT_TEST_SYNAPSE_SECRET must be set.
Start one with \`bash test/synapse/setup.sh && bash test/synapse/start.sh\` and export the two lines it prints
(or run only sections that need none: --only cli).`);
    return 2;
  }
  const distStale = checkBuild();
  const homeserver = hs === undefined ? "no homeserver" : await serverVersion(hs);
  const machine = machineLine(homeserver);
  const dir = mkdtempSync(path.join(tmpdir(), "honoroit-bench-"));
  const started = performance.now();
  const ctx: BenchContext = {
    hs: hs ?? { url: "", secret: "" },
    quick: args.quick,
    ...(args.runs === undefined ? {} : { runs: args.runs }),
    serveLogLevel: args.debugLog ? "debug" : "info",
    dir,
    log: (message) => console.log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`),
  };
  console.log(`bench: ${machine}${args.quick ? " (quick)" : ""}`);

  const rows: Row[] = [];
  const figures: Figures = {};
  const failed: string[] = [];
  for (const section of sections) {
    const t0 = performance.now();
    ctx.log(`${section.name}: start`);
    try {
      const result = await section.run(ctx);
      rows.push(...result.rows);
      Object.assign(figures, result.figures);
      figures[`${section.name.replace("-", "_")}_section_s`] = Math.round((performance.now() - t0) / 1000);
      ctx.log(`${section.name}: done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    } catch (error) {
      failed.push(section.name);
      console.error(`bench: section ${section.name} failed:`, error);
    }
  }
  const durationS = Math.round((performance.now() - started) / 1000);
  if (!args.keep) rmSync(dir, { recursive: true, force: true });

  const date = new Date().toISOString();
  console.log(`\n${renderTable(rows)}\n\n${date.slice(0, 10)}, ${machine}; ${durationS} s in all.`);
  if (failed.length > 0) console.log(`failed sections: ${failed.join(", ")}`);

  const out = args.out ?? (partial ? undefined : path.join(ROOT, "bench", "results.json"));
  if (out === undefined) {
    console.log("partial or quick run: results not written (pass --out FILE to keep them)");
  } else {
    const results = {
      date,
      machine,
      homeserver,
      node: process.version,
      quick: args.quick,
      sections: sections.map((s) => s.name),
      failed_sections: failed,
      dist_older_than_src: distStale,
      duration_s: durationS,
      ...figures,
      table: rows,
    };
    writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
    console.log(`results written to ${path.relative(process.cwd(), out) || out}`);
  }
  return failed.length > 0 ? 1 : 0;
}

process.exitCode = await main();
