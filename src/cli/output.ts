import { styleText } from "node:util";

/** A table for people; `json` is what `--json` prints instead. */
export interface TableOutput {
  readonly kind: "table";
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Shown instead of an empty table. */
  readonly empty: string;
  readonly footer?: string;
  readonly json: unknown;
}

/**
 * A table too long to hold (`tickets list --limit 0` over years of requests): its rows and
 * JSON items are read from the database while they are printed. Printed exactly as the same
 * rows in a `TableOutput` would be.
 */
export interface StreamOutput {
  readonly kind: "stream";
  readonly columns: readonly string[];
  /** The rows, read anew on each call: a long table reads them twice (widths, then lines). */
  readonly rows: () => AsyncIterable<readonly string[]>;
  /** Shown instead of an empty table. */
  readonly empty: string;
  readonly footer?: string;
  /** What `--json` prints: the items of one JSON array. */
  readonly json: () => AsyncIterable<unknown>;
}

/** Plain lines for people; `json` is what `--json` prints instead. */
export interface LinesOutput {
  readonly kind: "lines";
  readonly lines: readonly string[];
  readonly json: unknown;
}

/** A long-running command (serve) that printed what it had to while it ran. */
export interface DoneOutput {
  readonly kind: "done";
  readonly exitCode?: number;
}

export type Output = TableOutput | StreamOutput | LinesOutput | DoneOutput;

/** Where output goes: a Node stream, or a test's capture. */
export interface Sink {
  /** As a Node stream's: false when the reader is behind, and "drain" will follow. */
  write(text: string): unknown;
  once?(event: "drain", listener: () => void): unknown;
  /** Colour may be written here (see `colorFor`); unset: never. */
  readonly color?: boolean;
}

/**
 * Whether to colour what goes to `stream`, by the rules Node.js itself follows (and warns
 * about when both are set): FORCE_COLOR decides when set (1, 2, 3, true or empty: colour;
 * anything else: none); else NO_COLOR, when not empty, turns colour off
 * (https://no-color.org); else a terminal gets colour unless TERM is dumb.
 */
export function colorFor(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  const force = env["FORCE_COLOR"];
  if (force !== undefined) return FORCED.has(force);
  if ((env["NO_COLOR"] ?? "") !== "") return false;
  return stream.isTTY === true && env["TERM"] !== "dumb";
}

/** FORCE_COLOR values that turn colour on (Node's: the others force it off). */
const FORCED: ReadonlySet<string> = new Set(["", "1", "2", "3", "true"]);

/** A Node stream as a sink, its colour decided once, from the environment. */
export function streamSink(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): Sink {
  return {
    write: (text) => stream.write(text),
    once: (event, listener) => stream.once(event, listener),
    color: colorFor(stream, env),
  };
}

/** Prints a command's output: JSON when asked, else a table or lines for people. */
export async function printOutput(output: Output, json: boolean, out: Sink): Promise<void> {
  if (output.kind === "done") return;
  if (output.kind === "stream") {
    await (json ? printJsonStream(output, out) : printTableStream(output, out));
    return;
  }
  if (json) {
    out.write(JSON.stringify(output.json, null, 2) + "\n");
    return;
  }
  if (output.kind === "lines") {
    for (const line of output.lines) out.write(line + "\n");
    return;
  }
  if (output.rows.length === 0) {
    out.write(output.empty + "\n");
  } else {
    out.write(renderTable(output.columns, output.rows, out.color === true));
  }
  if (output.footer !== undefined) out.write(output.footer + "\n");
}

/** Renders aligned columns; the header is bold when colour is on. */
export function renderTable(columns: readonly string[], rows: readonly (readonly string[])[], color: boolean): string {
  const widths = columnWidths(columns);
  for (const row of rows) widenTo(widths, row);
  return `${header(columns, widths, color)}\n${rows.map((row) => tableLine(row, widths)).join("\n")}\n`;
}

/** One error line for a person; the label is red when colour is on. */
export function formatErrorLine(message: string, color: boolean): string {
  return color ? `${styleText("red", "error:", { validateStream: false })} ${message}` : `error: ${message}`;
}

// --- tables, held or streamed ------------------------------------------------------------

function columnWidths(columns: readonly string[]): number[] {
  return columns.map((c) => c.length);
}

function widenTo(widths: number[], row: readonly string[]): void {
  for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i] ?? 0, (row[i] ?? "").length);
}

/** A row with every cell but the last padded to its column, and no trailing spaces. */
function tableLine(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
    .join("  ")
    .trimEnd();
}

function header(columns: readonly string[], widths: readonly number[], color: boolean): string {
  const line = tableLine(columns, widths);
  return color ? styleText("bold", line, { validateStream: false }) : line;
}

/**
 * Rows a streamed table holds before it reads them a second time: a listing up to this long is
 * read once and printed from memory; a longer one is read to measure its columns, then again to
 * print them, so memory stays flat however many there are.
 */
const HELD_ROWS = 1000;

async function printTableStream(output: StreamOutput, out: Sink): Promise<void> {
  const writer = new ChunkedWriter(out);
  const widths = columnWidths(output.columns);
  const held: (readonly string[])[] = [];
  let count = 0;
  for await (const row of output.rows()) {
    widenTo(widths, row);
    if (++count <= HELD_ROWS) held.push(row);
    else held.length = 0;
  }
  if (count === 0) {
    await writer.write(output.empty + "\n");
  } else {
    await writer.write(header(output.columns, widths, out.color === true) + "\n");
    // Between the two readings the listing may have changed (serve opens and closes requests):
    // the lines then follow the second reading, and a longer cell just pushes its line out.
    for await (const row of count <= HELD_ROWS ? held : output.rows()) await writer.write(tableLine(row, widths) + "\n");
  }
  if (output.footer !== undefined) await writer.write(output.footer + "\n");
  await writer.flush();
}

/** The same text as `JSON.stringify(items, null, 2)`, an item at a time. */
async function printJsonStream(output: StreamOutput, out: Sink): Promise<void> {
  const writer = new ChunkedWriter(out);
  let first = true;
  for await (const item of output.json()) {
    // An array of one, without its brackets: the item indented as inside the whole array.
    await writer.write((first ? "[\n" : ",\n") + JSON.stringify([item], null, 2).slice(2, -2));
    first = false;
  }
  await writer.write(first ? "[]\n" : "\n]\n");
  await writer.flush();
}

/**
 * Text written at once: large enough for few system calls, small enough that what waits to be
 * written does not outlive the garbage collector's young generation (which then grows).
 */
const CHUNK_CHARS = 16 * 1024;

/** Collects text into chunks and writes each, waiting while the reader is behind (a pipe to `less`). */
class ChunkedWriter {
  readonly #out: Sink;
  #pending = "";

  constructor(out: Sink) {
    this.#out = out;
  }

  async write(text: string): Promise<void> {
    this.#pending += text;
    if (this.#pending.length >= CHUNK_CHARS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#pending === "") return;
    const chunk = this.#pending;
    this.#pending = "";
    const out = this.#out;
    if (out.write(chunk) === false && out.once !== undefined) {
      await new Promise<void>((resolve) => out.once?.("drain", resolve));
    }
  }
}
