// What serve tells monitoring services, when configured: healthchecks.io pings (a UUID is set)
// and Sentry error reports (a DSN is set). Each adapter is imported only when its setting is
// set, so a serve without them loads nothing of either.
//
// Neither goes through the durable outbox: a heartbeat delivered late says nothing, and the
// reports are mostly about the very failures (a database down) that would keep an outbox from
// delivering them. Both are sent at once, best effort, and a failure to send is only logged.
import { packageVersion } from "../cli/version.ts";
import { CONFIG_KEYS, configValue, specOf, type HonoroitConfig } from "../config/schema.ts";
import { EXIT_INTERNAL, EXIT_OK, isHonoroitError, messageOf } from "../core/errors.ts";
import type { Logger } from "../core/ports.ts";
import type { HealthchecksPinger, HealthSnapshot } from "../adapters/monitoring/healthchecks.ts";
import type { Report, SentryReporter } from "../adapters/monitoring/sentry.ts";

/** Monitoring for one serve, from its start to its end. */
export interface ServeMonitoring {
  /** The logger serve should use: with Sentry on, every error line is reported too. */
  readonly logger: Logger;
  /** Starts checking health every configured interval (for healthchecks.io; nothing without a UUID). */
  watch(health: () => Promise<HealthSnapshot>): void;
  /** serve ended, with `error` if it failed: the exit ping and the report, waited for briefly. */
  stopped(error?: unknown): Promise<void>;
}

/** How long the end of serve waits for its report and exit ping. */
const FLUSH_MS = 3_000;

/**
 * The configured secrets, for the scrubber. A SQLite path is not one (it is marked secret
 * because a PostgreSQL DSN holds a password), and scrubbing it would blank every mention of
 * the database file in a report.
 */
export function configSecrets(config: HonoroitConfig): string[] {
  const values: string[] = [];
  for (const key of CONFIG_KEYS) {
    if (specOf(key).secret !== true || (key === "db.dsn" && config.db.dialect !== "postgres")) continue;
    const value = configValue(config, key);
    if (typeof value !== "string") continue;
    values.push(value);
    // A password inside a URL may also show up on its own, as written or decoded.
    const password = URL.canParse(value) ? new URL(value).password : "";
    if (password !== "") values.push(password, decoded(password));
  }
  return values;
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The exit code the CLI's boundary gives this error (see cli/boundary.ts). */
function exitCodeOf(error: unknown): number {
  return isHonoroitError(error) ? error.exitCode : EXIT_INTERNAL;
}

/** A logger that also reports its error lines. */
class ReportingLogger implements Logger {
  constructor(
    private readonly inner: Logger,
    private readonly report: (report: Report) => void,
  ) {}

  debug(message: string, fields?: Record<string, unknown>): void {
    this.inner.debug(message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.inner.info(message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.inner.warn(message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.inner.error(message, fields);
    this.report({ level: "error", message, ...(fields === undefined ? {} : { fields }) });
  }
}

/** Sets up what the configuration asks for and sends the start ping (without waiting for it). */
export async function startMonitoring(config: HonoroitConfig, logger: Logger): Promise<ServeMonitoring> {
  const { healthchecks, sentry } = config.monitoring;
  if (healthchecks.uuid === null && sentry.dsn === null) {
    return { logger, watch: () => undefined, stopped: () => Promise.resolve() };
  }
  const { Scrubber } = await import("../adapters/monitoring/scrub.ts");
  const scrubber = new Scrubber(configSecrets(config));
  const release = `honoroit@${packageVersion()}`;

  let reporter: SentryReporter | undefined;
  if (sentry.dsn !== null) {
    const { SentryReporter, parseSentryDsn } = await import("../adapters/monitoring/sentry.ts");
    const target = parseSentryDsn(sentry.dsn);
    // The schema's parser accepts only DSNs this reads; this is for a DSN built some other way.
    if (target === undefined) throw new Error("monitoring.sentry.dsn is not a Sentry DSN");
    reporter = new SentryReporter({ target, sampleRate: sentry.rate / 100, release, scrubber, logger });
    logger.info("reporting errors to Sentry", { url: new URL(target.envelopeUrl).origin, sampled: `${sentry.rate}%` });
  }

  let pinger: HealthchecksPinger | undefined;
  let started: Promise<unknown> = Promise.resolve();
  if (healthchecks.uuid !== null) {
    const { HealthchecksPinger } = await import("../adapters/monitoring/healthchecks.ts");
    pinger = new HealthchecksPinger({ url: healthchecks.url, uuid: healthchecks.uuid, everyMs: healthchecks.duration * 1000, logger, scrub: (t) => scrubber.text(t) });
    logger.info("pinging healthchecks.io", { url: healthchecks.url, every: `${healthchecks.duration}s` });
    started = pinger.start(`honoroit serve starting (pid ${process.pid})`);
  }

  const watching = new AbortController();
  let loop: Promise<void> = Promise.resolve();
  let ended = false;
  return {
    logger: reporter === undefined ? logger : new ReportingLogger(logger, (r) => reporter.capture(r)),
    watch(health) {
      if (pinger === undefined || ended) return;
      loop = started.then(() => pinger.run(health, watching.signal));
    },
    async stopped(error) {
      if (ended) return;
      ended = true;
      watching.abort();
      await loop;
      await started;
      if (error !== undefined) reporter?.capture({ level: "fatal", error });
      const code = error === undefined ? EXIT_OK : exitCodeOf(error);
      await pinger?.exit(code, error === undefined ? "honoroit serve stopped" : `honoroit serve stopped with exit code ${code}: ${messageOf(error)}`, FLUSH_MS);
      await reporter?.flush(FLUSH_MS);
    },
  };
}
