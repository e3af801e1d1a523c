import { ChatDispatcher } from "../chat/dispatcher.ts";
import type { HonoroitConfig } from "../config/schema.ts";
import type { MatrixLogin } from "../config/load.ts";
import type { HelpdeskDeps } from "../core/deps.ts";
import { Helpdesk } from "../core/helpdesk.ts";
import { Scheduler, type PeriodicTask } from "../core/scheduler.ts";
import { autoCloseIdle } from "../core/usecases/close-ticket.ts";
import { handOffHandlers } from "../core/usecases/hand-off.ts";
import { pruneOldRecords } from "../core/usecases/retention.ts";
import { encryptionOptions, helpdeskDeps, loginCredentials } from "./helpdesk-deps.ts";
import type { Clock, Logger, Store } from "../core/ports.ts";
import { RuntimeOptions } from "../core/runtime-options.ts";
import type { HealthReport } from "../adapters/http/server.ts";
import type { SyncHealth } from "../adapters/matrix/sync-pipeline.ts";
import { currentHolder, describeHolder, type ServeLock } from "../adapters/storage/serve-lock.ts";
import { HonoroitError, messageOf, RefusedError } from "../core/errors.ts";
import { sleep } from "../core/timing.ts";
import { startMonitoring, type ServeMonitoring } from "./monitoring.ts";
import { startRedmine } from "./redmine.ts";

export interface ServeOptions {
  readonly config: HonoroitConfig;
  readonly matrix: MatrixLogin;
  /** Opened and migrated by the caller. */
  readonly store: Store;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Stops the bot (SIGTERM, SIGINT). */
  readonly signal: AbortSignal;
  /** Called once the HTTP server listens and the bot is logged in. */
  readonly onReady?: (info: { httpUrl: string }) => void;
  /** One serve per database (see ServeLock); released here. */
  readonly lock: ServeLock;
  /** When another serve holds the lock: wait to take over instead of refusing to start. */
  readonly standby?: boolean;
}

/** How often a standby tries to take the lock. */
const STANDBY_POLL_MS = 2_000;
const HOLDER_NAMESPACE = "serve";
const HOLDER_KEY = "holder";

/** How often options changed from the command line are picked up by a running bot. */
const OPTIONS_RELOAD_MS = 30_000;

/** How often handled-event and ledger records past their retention are pruned. */
const PRUNE_INTERVAL_MS = 3_600_000;

/** Auto-close checks run often enough for the configured idle time, and at least hourly. */
export function autoCloseInterval(afterMs: number): number {
  return Math.min(3_600_000, Math.max(10_000, Math.floor(afterMs / 10)));
}

/** The recurring work of a running bot, run by the one scheduler. */
export function periodicTasks(deps: HelpdeskDeps, refresh: () => Promise<void>): PeriodicTask[] {
  return [
    { name: "options reload", every: () => OPTIONS_RELOAD_MS, run: refresh },
    {
      name: "auto-close",
      // A changed autoclose.after applies at once: the scheduler reads this on every tick.
      every: () => autoCloseInterval(deps.options.get("autoclose.after") || 3_600_000),
      async run() {
        const closed = await autoCloseIdle(deps);
        if (closed > 0) deps.logger.info("auto-closed idle requests", { count: closed });
      },
    },
    {
      name: "retention",
      every: () => PRUNE_INTERVAL_MS,
      async run() {
        await pruneOldRecords(deps);
      },
    },
  ];
}

/**
 * `honoroit serve`: the lifecycle around the helpdesk. HTTP first (so /_health can tell
 * that the homeserver is unreachable while login retries), then Matrix, then the sync pipeline
 * and the scheduler until the signal; everything opened here is closed here.
 */
export async function serve(opts: ServeOptions): Promise<void> {
  // Healthchecks pings and Sentry reports, when configured, see the whole run (monitoring.ts).
  const monitoring = await startMonitoring(opts.config, opts.logger);
  try {
    await serveLocked({ ...opts, logger: monitoring.logger, monitoring });
  } catch (error) {
    await monitoring.stopped(error);
    throw error;
  }
  await monitoring.stopped();
}

interface MonitoredServeOptions extends ServeOptions {
  readonly monitoring: ServeMonitoring;
}

async function serveLocked(opts: MonitoredServeOptions): Promise<void> {
  try {
    let held = await opts.lock.tryAcquire();
    if (!held && opts.standby !== true) {
      const holder = describeHolder(await opts.store.kv.get(HOLDER_NAMESPACE, HOLDER_KEY));
      throw new HonoroitError("BUSY", `${holder} is using this database; stop it first, or start this one with --standby to take over when it stops`);
    }
    const stopped = (): boolean => opts.signal.aborted;
    await serveHolding(opts, () => held, async () => {
      if (held) return;
      opts.logger.info(`standby: ${describeHolder(await opts.store.kv.get(HOLDER_NAMESPACE, HOLDER_KEY))} is active; this one takes over when it stops`);
      for (let failures = 0; !held && !stopped(); ) {
        await sleep(STANDBY_POLL_MS, opts.signal);
        try {
          held = !stopped() && (await opts.lock.tryAcquire());
          failures = 0;
        } catch (error) {
          // The database is down for a while: a standby keeps waiting.
          if (failures++ % 30 === 0) opts.logger.warn("standby: cannot reach the database to take the lock; still waiting", { error: messageOf(error) });
        }
      }
      if (held) opts.logger.info("taking over: this serve now holds the database");
    });
    if (opts.lock.lost.aborted) {
      throw new HonoroitError("BUSY", "another honoroit serve took over this database while this one's connection to it was down; this one stopped");
    }
  } finally {
    await opts.lock.release();
  }
}

async function serveHolding(opts: MonitoredServeOptions, holding: () => boolean, waitForLock: () => Promise<void>): Promise<void> {
  const { config, store, logger } = opts;
  // Stops on SIGTERM, or when another serve took the database over while this one's lock was lost.
  const signal = AbortSignal.any([opts.signal, opts.lock.lost]);
  // Loaded together: each waits on its own files, and serve's start waits for all of them.
  const [{ PromMetrics }, { startHttpServer }, { connectMatrix }] = await Promise.all([
    import("../adapters/http/metrics.ts"),
    import("../adapters/http/server.ts"),
    import("../adapters/matrix/connection.ts"),
  ]);

  const metrics = new PromMetrics({ processMetrics: true, customerLabels: config.metrics.customers });
  let engine: () => HealthReport["checks"] = () => ({ homeserver: { ok: false, detail: "logging in" } });
  const health = async (): Promise<HealthReport> => {
    const database = await store.sync.getToken().then(
      () => ({ ok: true }),
      (error: unknown) => ({ ok: false, detail: error instanceof Error ? error.message : String(error) }),
    );
    if (!holding()) return { status: "standby", checks: { database, active: { ok: false, detail: "standby: another honoroit serve is active on this database" } } };
    const checks = { ...engine(), database };
    return { status: Object.values(checks).every((c) => c.ok) ? "ok" : "degraded", checks };
  };
  const http = await startHttpServer({
    port: config.port,
    host: config.host,
    metrics,
    health,
    logger,
    ...(config.metrics.login !== null && config.metrics.password !== null
      ? { auth: { login: config.metrics.login, password: config.metrics.password } }
      : {}),
    ...(config.metrics.ips === null ? {} : { allowedIps: config.metrics.ips }),
  });
  logger.info("HTTP server listening", { address: http.listening, url: http.url });
  opts.monitoring.watch(health);

  try {
    await waitForLock();
    if (signal.aborted) return;
    await store.kv.set(HOLDER_NAMESPACE, HOLDER_KEY, JSON.stringify(currentHolder()));
    // A Redmine that refuses the settings stops serve here; one that is down does not.
    const redmine = await startRedmine(config, store, opts.clock, logger, metrics.registry);
    let connection;
    try {
      connection = await connectMatrix({
        ...loginCredentials(opts.matrix, config),
        kv: store.kv,
        syncState: store.sync,
        logger,
        signal,
        metrics,
        operatorsRoom: opts.matrix.roomId,
        ...(config.noEncryption ? {} : { encryption: encryptionOptions(config, store, { metrics }) }),
      });
    } catch (error) {
      // SIGTERM while login waits for the homeserver: nothing is under way, a clean stop.
      // (A reason is set once the signal fired; `aborted` reads as false here to the compiler.)
      await redmine?.close();
      if (signal.reason !== undefined) return;
      throw error;
    }
    try {
      const options = await RuntimeOptions.load(store.options, logger);
      const deps = helpdeskDeps({ config, operatorsRoom: opts.matrix.roomId, store, messenger: connection.messenger, options, clock: opts.clock, logger, metrics, inbox: connection.sync });
      const helpdesk = new Helpdesk(deps, new ChatDispatcher(deps));
      const refresh = (): Promise<void> => options.load();
      metrics.countOpenTicketsWith(() => store.tickets.count({ status: "open" }));
      const room = new OperatorsRoomCheck(deps, connection.userId);
      const scheduler = new Scheduler(
        { store, clock: opts.clock, logger, metrics },
        [...handOffHandlers(deps), ...(redmine?.handlers(deps) ?? [])],
        [room.task, ...periodicTasks(deps, refresh), ...(redmine?.tasks(deps) ?? [])],
      );
      const encryption = connection.encryption;
      engine = () => ({
        ...engineChecks(connection.sync.health(), scheduler.health()),
        operatorsRoom: room.status,
        ...(redmine === undefined ? {} : { redmine: redmine.health() }),
        // Saving the crypto state failed: nothing encrypted is sent until it works again.
        ...(encryption === undefined ? {} : { encryption: cryptoCheck(encryption.health()) }),
      });

      logger.info("serving", { user: connection.userId, device: connection.deviceId, operatorsRoom: opts.matrix.roomId });
      opts.onReady?.({ httpUrl: http.url });
      // Both run until the signal; if one of them fails (the token refused), the other stops too.
      const running = new AbortController();
      const stop = (): void => running.abort();
      signal.addEventListener("abort", stop, { once: true });
      // Both are waited for, so nothing still runs when the store is closed after this.
      const results = await Promise.allSettled([
        scheduler.run(running.signal),
        // Failures the helpdesk throws make an event wait in its room; it is tried again.
        connection.sync.run((event) => helpdesk.handle(event), running.signal).finally(stop),
      ]);
      signal.removeEventListener("abort", stop);
      const failed = results.find((r) => r.status === "rejected");
      if (failed !== undefined) throw failed.reason;
    } finally {
      await connection.close();
      await redmine?.close();
    }
  } finally {
    await http.close();
    logger.info("stopped");
  }
}

/**
 * Whether the bot can post in the operators room: at start and every 5 s until it can, it
 * joins (which also takes a pending invite). Until then /_health says why, and the log says
 * plainly what to do; customers' messages wait meanwhile (see the pipeline).
 */
class OperatorsRoomCheck {
  status: { ok: boolean; detail?: string } = { ok: false, detail: "not checked yet" };
  private told = false;

  constructor(
    private readonly deps: HelpdeskDeps,
    private readonly bot: string,
  ) {}

  readonly task: PeriodicTask = {
    name: "operators room",
    every: () => (this.status.ok ? 3_600_000 : 5_000),
    run: async () => {
      try {
        await this.deps.messenger.join(this.deps.operatorsRoom);
        if (!this.status.ok && this.told) this.deps.logger.info("the bot is in the operators room now", { room: this.deps.operatorsRoom });
        this.status = { ok: true };
      } catch (error) {
        if (!(error instanceof RefusedError)) throw error;
        const detail = `the bot cannot join the operators room ${this.deps.operatorsRoom} (${error.message}): invite ${this.bot} there; customers' messages wait until then`;
        this.status = { ok: false, detail };
        if (!this.told) this.deps.logger.error(detail);
        this.told = true;
      }
    },
  };
}

function cryptoCheck(health: { ok: boolean; detail?: string }): { ok: boolean; detail?: string } {
  return health.ok ? { ok: true } : { ok: false, detail: health.detail ?? "the encryption state cannot be saved" };
}

/** The pipeline and the scheduler, as /_health checks: each says why when it is not ok. */
export function engineChecks(sync: SyncHealth, jobs: { readonly ok: boolean; readonly detail?: string }): HealthReport["checks"] {
  const homeserver = sync.homeserver === "ok" ? { ok: true } : { ok: false, detail: sync.lastError ?? "unreachable" };
  const waiting = sync.waiting.map((w) => `${w.room} since ${w.since.toISOString()} (${w.attempts} attempts): ${w.reason}`);
  const events = waiting.length === 0
    ? { ok: true, detail: `${sync.queued} queued, ${sync.inFlight} being handled${sync.skippedGaps > 0 ? `, ${sync.skippedGaps} unreadable gaps skipped (see the log)` : ""}` }
    : { ok: false, detail: `${waiting.length} room(s) waiting: ${waiting.slice(0, 5).join("; ")}${waiting.length > 5 ? "; …" : ""}` };
  return { homeserver, events, jobs };
}
