// The printed table ("metric | value | baseline | ratio | target | met?"), the machine line,
// and the figures written to results.json.
import os from "node:os";

/** One line of the table. */
export interface Row {
  readonly metric: string;
  readonly value: string;
  readonly baseline: string;
  readonly ratio: string;
  readonly target: string;
  /** Undefined: no target. */
  readonly met?: boolean;
}

/** Figures for results.json (numbers wherever a figure is measured). */
export type Figures = Record<string, number | string | boolean | null>;

/** What a section hands back. */
export interface SectionResult {
  readonly rows: readonly Row[];
  readonly figures: Figures;
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  return ms < 100 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

export function fmtMb(mb: number): string {
  return Number.isFinite(mb) ? `${mb.toFixed(1)} MB` : "—";
}

export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : "—";
}

export function fmtRate(perS: number): string {
  return Number.isFinite(perS) ? `${perS.toFixed(1)} msg/s` : "—";
}

/** The machine, as one line: CPU model, cores, memory, Node and homeserver versions (and its database, as start.sh says). */
export function machineLine(homeserver: string): string {
  const database = process.env.HONOROIT_TEST_SYNAPSE_DATABASE ?? "SQLite";
  const cpu = os.cpus()[0]?.model.trim() ?? "unknown CPU";
  const memGb = (os.totalmem() / 1024 ** 3).toFixed(1);
  return `${cpu}, ${os.cpus().length} cores, ${memGb} GB RAM, ${os.type()} ${os.release()}, Node ${process.version}, ${homeserver} (${database})`;
}

/** The table in Markdown, which also reads well in a terminal. */
export function renderTable(rows: readonly Row[]): string {
  const header = ["metric", "value", "baseline", "ratio", "target", "met?"];
  const cells = rows.map((r) => [r.metric, r.value, r.baseline, r.ratio, r.target, r.met === undefined ? "—" : r.met ? "yes" : "**no**"]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: readonly string[]): string => `| ${c.map((x, i) => x.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...cells.map(line)].join("\n");
}
