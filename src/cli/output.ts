import chalk from "chalk";

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

export type Output = TableOutput | LinesOutput | DoneOutput;

export interface Sink {
  write(text: string): void;
  readonly isTTY?: boolean;
}

/** Prints a command's output: JSON when asked, else a table or lines for people. */
export function printOutput(output: Output, json: boolean, out: Sink): void {
  if (output.kind === "done") return;
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
    out.write(renderTable(output.columns, output.rows, out.isTTY === true));
  }
  if (output.footer !== undefined) out.write(output.footer + "\n");
}

/** Renders aligned columns; the header is bold on a terminal. */
export function renderTable(columns: readonly string[], rows: readonly (readonly string[])[], color: boolean): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  const header = line(columns);
  const body = rows.map(line).join("\n");
  return `${color ? chalk.bold(header) : header}\n${body}\n`;
}

/** One error line for a person on a terminal. */
export function formatErrorLine(message: string, color: boolean): string {
  return color ? `${chalk.red("error:")} ${message}` : `error: ${message}`;
}
