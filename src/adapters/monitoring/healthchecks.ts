// healthchecks.io pings (or a self-hosted Healthchecks): `<url>/<uuid>/start` when serve starts,
// `<url>/<uuid>` at every check while /_health is ok, `<url>/<uuid>/fail` with the reason when it
// turns bad (again only if other checks fail later), and `<url>/<uuid>/<exit code>` when serve ends. A ping is a POST whose body
// Healthchecks keeps (the first 100 kB) in the check's log. A ping that does not go through is
// logged and forgotten: the next check pings again, and the bot never waits for one.
import { messageOf } from "../../core/errors.ts";
import type { Logger } from "../../core/ports.ts";
import { sleep } from "../../core/timing.ts";
import { post } from "./post.ts";

/** What a check needs of serve's health: the report /_health answers with. */
export interface HealthSnapshot {
  readonly status: string;
  readonly checks: Readonly<Record<string, { readonly ok: boolean; readonly detail?: string }>>;
}

export interface HealthchecksOptions {
  /** Base URL of the ping API, e.g. https://hc-ping.com (without a trailing slash). */
  readonly url: string;
  /** The check's UUID: with the URL, anyone can ping it, so it is never logged. */
  readonly uuid: string;
  /** Between checks of health (a success ping each time it is ok). */
  readonly everyMs: number;
  readonly logger: Logger;
  /** Applied to every body sent, so no secret leaves in a reason. */
  readonly scrub?: (text: string) => string;
  /** How long one ping may take; default 10 s. */
  readonly timeoutMs?: number;
}

/** Bodies longer than this are cut: a reason is for a person to read in the check's log. */
const MAX_BODY = 2_000;
const DEFAULT_TIMEOUT_MS = 10_000;

/** A health report in one line: the checks that are not ok, each with its reason. */
export function describeHealth(report: HealthSnapshot): string {
  const bad = Object.entries(report.checks)
    .filter(([, c]) => !c.ok)
    .map(([name, c]) => `${name}: ${c.detail ?? "not ok"}`);
  return `${report.status}${bad.length > 0 ? ` (${bad.join("; ")})` : ""}`;
}

function isHealthy(report: HealthSnapshot): boolean {
  return report.status === "ok" && Object.values(report.checks).every((c) => c.ok);
}

/** Pings one Healthchecks check for the life of a serve (see the top of the file). */
export class HealthchecksPinger {
  /** Whether the last ping went through: a failure is a warning once, then debug until one does. */
  private delivering = true;
  /**
   * The checks that were failing when a fail ping last went through: it is not repeated while
   * the same ones fail (their details change all the time), only when others do or after ok.
   */
  private failReported: string | undefined;

  constructor(private readonly options: HealthchecksOptions) {}

  /** `/start`: serve is starting. */
  async start(body: string): Promise<boolean> {
    return this.ping("start", body);
  }

  /** Checks health every `everyMs` until the signal fires (the first check one interval after the call). */
  async run(health: () => Promise<HealthSnapshot>, signal: AbortSignal): Promise<void> {
    for (;;) {
      await sleep(this.options.everyMs, signal);
      if (signal.aborted) return;
      await this.check(health, signal);
    }
  }

  /**
   * One check: a success ping when health is ok; a fail ping with the reason when it is not
   * (once while the same checks fail); nothing for a standby, whose active serve does the pinging. The
   * signal cuts a ping short (serve is stopping).
   */
  async check(health: () => Promise<HealthSnapshot>, signal?: AbortSignal): Promise<void> {
    let report: HealthSnapshot;
    try {
      report = await health();
    } catch (error) {
      report = { status: "degraded", checks: { health: { ok: false, detail: `the health check itself failed: ${messageOf(error)}` } } };
    }
    if (report.status === "standby") return;
    if (isHealthy(report)) {
      if (await this.ping("success", "ok", signal)) this.failReported = undefined;
      return;
    }
    const failing = Object.keys(report.checks).filter((name) => report.checks[name]?.ok !== true).sort().join(",");
    if (this.failReported === failing) return;
    if (await this.ping("fail", `honoroit is ${describeHealth(report)}`, signal)) this.failReported = failing;
  }

  /** `/<code>`: serve ended with this exit code (0: a clean stop); waits at most `timeoutMs`. */
  async exit(code: number, body: string, timeoutMs?: number): Promise<boolean> {
    return this.ping(String(Math.min(255, Math.max(0, Math.trunc(code)))), body, undefined, timeoutMs);
  }

  /** Sends one ping; true when Healthchecks answered 2xx. Never throws. */
  private async ping(kind: string, body: string, signal?: AbortSignal, timeoutMs?: number): Promise<boolean> {
    const { url, uuid, logger } = this.options;
    const target = `${url}/${encodeURIComponent(uuid)}${kind === "success" ? "" : `/${kind}`}`;
    const text = (this.options.scrub?.(body) ?? body).slice(0, MAX_BODY);
    const result = await post(target, text, { "content-type": "text/plain; charset=utf-8" }, timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal);
    // Cut short because serve is stopping: not a failure of Healthchecks.
    if (!result.ok && signal?.aborted === true) return false;
    if (result.ok) {
      if (!this.delivering) logger.info("healthchecks.io pings go through again", { ping: kind });
      else logger.debug("healthchecks.io ping sent", { ping: kind });
      this.delivering = true;
      return true;
    }
    // The URL holds the check's UUID, which is a secret: only the base URL is logged.
    const fields = { ping: kind, url, error: result.problem };
    if (this.delivering) logger.warn("a healthchecks.io ping did not go through; the bot goes on and pings again at the next check", fields);
    else logger.debug("a healthchecks.io ping did not go through", fields);
    this.delivering = false;
    return false;
  }
}
