// Error reports to Sentry (or anything that speaks its ingestion protocol: GlitchTip, a
// self-hosted Sentry): one event per report, in an envelope POSTed to
// `<base>/api/<project>/envelope/` with the DSN's key in `X-Sentry-Auth`. Only errors are sent:
// no performance traces, no breadcrumbs, no request data. Everything in an event passes through
// the Scrubber first. Sending never blocks the caller and never throws; `flush` waits (briefly)
// for what is on its way, so the report of a failure that ends serve still leaves.
//
// Our own client rather than @sentry/node: that SDK instruments the whole process (global
// handlers, patched modules, OpenTelemetry) to collect far more than the few error events
// wanted here, and keeps its state in a global hub; this is one small class per serve.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { messageOf } from "../../core/errors.ts";
import type { Logger } from "../../core/ports.ts";
import { post } from "./post.ts";
import type { Scrubber } from "./scrub.ts";

/** Where a DSN says to send events, and the key to send them with. */
export interface SentryTarget {
  readonly envelopeUrl: string;
  readonly publicKey: string;
  /** Only old DSNs carry one. */
  readonly secretKey?: string;
}

/**
 * `https://<key>[:<secret>]@<host>[/<path>]/<project>` → where to send envelopes; undefined
 * when the string is not a DSN.
 */
export function parseSentryDsn(dsn: string): SentryTarget | undefined {
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    return undefined;
  }
  const segments = url.pathname.split("/").filter((s) => s !== "");
  const project = segments.pop();
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.username === "" || project === undefined) return undefined;
  const prefix = segments.length > 0 ? `/${segments.join("/")}` : "";
  return {
    envelopeUrl: `${url.protocol}//${url.host}${prefix}/api/${encodeURIComponent(project)}/envelope/`,
    publicKey: decodeURIComponent(url.username),
    ...(url.password === "" ? {} : { secretKey: decodeURIComponent(url.password) }),
  };
}

export interface SentryReporterOptions {
  readonly target: SentryTarget;
  /** The share of reports sent, 0 to 1. */
  readonly sampleRate: number;
  /** e.g. `honoroit@0.1.0`. */
  readonly release: string;
  readonly environment?: string;
  readonly scrubber: Scrubber;
  /** For the reporter's own troubles (at warn and debug: never reported to Sentry itself). */
  readonly logger: Logger;
  /** At most this many reports a minute (a loop logging errors must not flood Sentry); default 30. */
  readonly perMinute?: number;
  /** How long one report may take to send; default 10 s. */
  readonly timeoutMs?: number;
  readonly random?: () => number;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

export type ReportLevel = "fatal" | "error";

/** One report: a log line, an error, or both. */
export interface Report {
  readonly level: ReportLevel;
  readonly message?: string;
  readonly error?: unknown;
  /** The log line's fields: sent as `extra`, scrubbed. */
  readonly fields?: Readonly<Record<string, unknown>>;
}

interface Frame {
  readonly function?: string;
  readonly filename: string;
  readonly abs_path: string;
  readonly lineno: number;
  readonly colno: number;
  readonly in_app: boolean;
}

const STACK_LINE = /^\s*at (?:(.+?) \()?(.+?):(\d+):(\d+)\)?\s*$/;
const MAX_CAUSES = 5;
const MAX_FRAMES = 50;
const MAX_MESSAGE = 8_000;

/** V8's stack lines as Sentry frames, oldest call first (Sentry's order). */
export function stackFrames(stack: string | undefined): Frame[] {
  const frames: Frame[] = [];
  for (const line of (stack ?? "").split("\n").slice(1)) {
    const m = STACK_LINE.exec(line);
    if (m === null) continue;
    const [, fn, file = "", lineno = "0", colno = "0"] = m;
    const path = file.startsWith("file://") ? decodeURIComponent(file.slice("file://".length)) : file;
    frames.push({
      ...(fn === undefined ? {} : { function: fn }),
      filename: path,
      abs_path: path,
      lineno: Number(lineno),
      colno: Number(colno),
      in_app: !path.includes("/node_modules/") && !path.startsWith("node:"),
    });
  }
  return frames.slice(0, MAX_FRAMES).reverse();
}

/** Sends error reports to one Sentry project; see the top of the file. */
export class SentryReporter {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly sentAt: number[] = [];
  /** Sentry asked us (429) to send nothing before this time. */
  private quietUntil = 0;
  private delivering = true;
  private dropping = false;

  constructor(private readonly options: SentryReporterOptions) {}

  /** Queues a report (subject to the sample rate and the per-minute cap); its event id, or undefined when not sent. */
  capture(report: Report): string | undefined {
    const now = this.now();
    if ((this.options.random ?? Math.random)() >= this.options.sampleRate) return undefined;
    if (now < this.quietUntil || !this.withinCap(now)) return undefined;
    const eventId = randomUUID().replaceAll("-", "");
    const body = this.envelope(eventId, this.event(eventId, report, now), now);
    const sending = this.send(body).finally(() => this.inFlight.delete(sending));
    this.inFlight.add(sending);
    return eventId;
  }

  /** Waits for the reports on their way, at most `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private withinCap(now: number): boolean {
    while (this.sentAt.length > 0 && (this.sentAt[0] ?? 0) <= now - 60_000) this.sentAt.shift();
    const cap = this.options.perMinute ?? 30;
    if (this.sentAt.length >= cap) {
      if (!this.dropping) this.options.logger.warn(`more than ${cap} error reports in a minute: the rest of this minute's are not sent to Sentry`);
      this.dropping = true;
      return false;
    }
    this.dropping = false;
    this.sentAt.push(now);
    return true;
  }

  private event(eventId: string, report: Report, now: number): Record<string, unknown> {
    const { scrubber } = this.options;
    const extra = report.fields === undefined ? {} : (scrubber.value(Object.fromEntries(Object.entries(report.fields).filter(([k]) => k !== "error"))) as Record<string, unknown>);
    const fieldError = report.fields?.["error"];
    const error = report.error ?? fieldError;
    // A logged `error` field that is not an Error (a message already) is kept with the fields.
    if (report.error === undefined && fieldError !== undefined && !(fieldError instanceof Error)) extra["error"] = scrubber.value(fieldError);
    const text = report.message ?? (error !== undefined && !(error instanceof Error) ? messageOf(error) : undefined);
    const message = text === undefined ? undefined : scrubber.text(text).slice(0, MAX_MESSAGE);
    return {
      event_id: eventId,
      timestamp: now / 1000,
      platform: "node",
      level: report.level,
      logger: "honoroit",
      server_name: hostname(),
      release: this.options.release,
      environment: this.options.environment ?? "production",
      ...(message === undefined ? {} : { message: { formatted: message } }),
      ...(error instanceof Error ? { exception: { values: this.exceptions(error) } } : {}),
      ...(Object.keys(extra).length > 0 ? { extra } : {}),
      contexts: { runtime: { name: "node", version: process.version }, os: { name: process.platform } },
    };
  }

  /** The error and its causes, oldest (the deepest cause) first, as Sentry orders a chain. */
  private exceptions(error: Error): Record<string, unknown>[] {
    const chain: Error[] = [];
    for (let e: unknown = error; e instanceof Error && chain.length < MAX_CAUSES && !chain.includes(e); e = e.cause) chain.push(e);
    return chain.reverse().map((e) => {
      const frames = stackFrames(this.options.scrubber.text(e.stack ?? ""));
      return {
        type: e.name,
        value: this.options.scrubber.text(e.message).slice(0, MAX_MESSAGE),
        ...(frames.length > 0 ? { stacktrace: { frames } } : {}),
      };
    });
  }

  private envelope(eventId: string, event: Record<string, unknown>, now: number): string {
    const payload = JSON.stringify(event);
    const header = JSON.stringify({ event_id: eventId, sent_at: new Date(now).toISOString() });
    const item = JSON.stringify({ type: "event", length: Buffer.byteLength(payload, "utf8") });
    return `${header}\n${item}\n${payload}\n`;
  }

  private async send(body: string): Promise<void> {
    const { target, logger } = this.options;
    const auth = [`sentry_version=7`, `sentry_client=honoroit/${this.options.release}`, `sentry_key=${target.publicKey}`];
    if (target.secretKey !== undefined) auth.push(`sentry_secret=${target.secretKey}`);
    const headers = { "content-type": "application/x-sentry-envelope", "x-sentry-auth": `Sentry ${auth.join(", ")}` };
    const result = await post(target.envelopeUrl, body, headers, this.options.timeoutMs ?? 10_000);
    if (result.ok) {
      if (!this.delivering) logger.info("error reports reach Sentry again");
      this.delivering = true;
      return;
    }
    if (result.response?.status === 429) {
      // Sentry's rate limit: nothing more until it says (or a minute).
      const seconds = Number.parseInt(result.response.headers.get("retry-after") ?? "", 10);
      this.quietUntil = this.now() + (Number.isFinite(seconds) && seconds > 0 ? seconds : 60) * 1000;
    }
    const fields = { url: new URL(target.envelopeUrl).origin, error: result.problem };
    if (this.delivering) logger.warn("an error report did not reach Sentry; the bot goes on", fields);
    else logger.debug("an error report did not reach Sentry", fields);
    this.delivering = false;
  }
}
