import type { Logger, LogLevel } from "../../core/ports.ts";

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A plain-text logger to a stream (stderr by default): `time LEVEL message key=value …`. */
export class StreamLogger implements Logger {
  private readonly min: number;

  constructor(
    level: LogLevel,
    private readonly out: NodeJS.WritableStream = process.stderr,
    private readonly context: Readonly<Record<string, unknown>> = {},
  ) {
    this.min = RANK[level];
  }

  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): StreamLogger {
    const levelName = (Object.keys(RANK) as LogLevel[]).find((l) => RANK[l] === this.min) ?? "info";
    return new StreamLogger(levelName, this.out, { ...this.context, ...fields });
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.write("debug", message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.write("info", message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.write("warn", message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.write("error", message, fields);
  }

  private write(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    if (RANK[level] < this.min) return;
    const all = { ...this.context, ...fields };
    const tail = Object.entries(all)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${formatValue(v)}`)
      .join(" ");
    this.out.write(`${new Date().toISOString()} ${level.toUpperCase()} ${message}${tail === "" ? "" : " " + tail}\n`);
  }
}

function formatValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.stack ?? v.message);
  if (typeof v === "string") return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  return JSON.stringify(v);
}
