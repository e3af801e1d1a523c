import { ChatDispatcher } from "../chat/dispatcher.ts";
import type { HonoroitConfig } from "../config/schema.ts";
import type { MatrixLogin } from "../config/load.ts";
import { ProfileCache, type HelpdeskDeps } from "../core/deps.ts";
import { Helpdesk } from "../core/helpdesk.ts";
import { KeyedQueue } from "../core/keyed-queue.ts";
import { pruneOldRecords } from "../core/usecases/retention.ts";
import type { Clock, Logger, Store } from "../core/ports.ts";
import { RuntimeOptions } from "../core/runtime-options.ts";
import type { HealthReport } from "../adapters/http/server.ts";

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
}

/** How often options changed from the command line are picked up by a running bot. */
const OPTIONS_RELOAD_MS = 30_000;

const AUTO_CLOSE_TICK_MS = 5_000;

/** How often handled-event and sent-message records past their retention are pruned. */
const PRUNE_INTERVAL_MS = 3_600_000;

/** Auto-close checks run often enough for the configured idle time, and at least hourly. */
export function autoCloseInterval(afterMs: number): number {
  return Math.min(3_600_000, Math.max(10_000, Math.floor(afterMs / 10)));
}

/**
 * `honoroit serve`: the lifecycle around the helpdesk. HTTP first (so /_health can tell
 * that the homeserver is unreachable while login retries), then Matrix, then the sync loop
 * until the signal; everything opened here is closed here.
 */
export async function serve(opts: ServeOptions): Promise<void> {
  const { config, store, logger, signal } = opts;
  const { PromMetrics } = await import("../adapters/http/metrics.ts");
  const { startHttpServer } = await import("../adapters/http/server.ts");
  const { connectMatrix } = await import("../adapters/matrix/connection.ts");

  const metrics = new PromMetrics({ processMetrics: true });
  let homeserver: () => { ok: boolean; detail?: string } = () => ({ ok: false, detail: "logging in" });
  const health = async (): Promise<HealthReport> => {
    const database = await store.getSyncToken().then(
      () => ({ ok: true }),
      (error: unknown) => ({ ok: false, detail: error instanceof Error ? error.message : String(error) }),
    );
    const hs = homeserver();
    return { status: database.ok && hs.ok ? "ok" : "degraded", checks: { homeserver: hs, database } };
  };
  const http = await startHttpServer({
    port: config.port,
    metrics,
    health,
    logger,
    ...(config.metrics.login !== null && config.metrics.password !== null
      ? { auth: { login: config.metrics.login, password: config.metrics.password } }
      : {}),
    ...(config.metrics.ips === null ? {} : { allowedIps: config.metrics.ips }),
  });
  logger.info("HTTP server listening", { url: http.url });

  const timers: NodeJS.Timeout[] = [];
  try {
    const { auth } = opts.matrix;
    const connection = await connectMatrix({
      homeserver: opts.matrix.homeserver,
      login: opts.matrix.login ?? "",
      ...(auth.method === "password" ? { password: auth.password } : {}),
      ...(auth.method === "sharedSecret" ? { sharedSecret: auth.sharedSecret } : {}),
      ...(auth.method === "token" ? { token: auth.token } : {}),
      kv: store,
      syncState: store,
      logger,
      signal,
    });
    try {
      homeserver = () => {
        const h = connection.sync.health();
        return h.homeserver === "ok" ? { ok: true } : { ok: false, detail: h.lastError ?? "unreachable" };
      };
      const options = await RuntimeOptions.load(store, logger);
      const deps: HelpdeskDeps = {
        store,
        messenger: connection.messenger,
        options,
        clock: opts.clock,
        logger,
        metrics,
        operatorsRoom: opts.matrix.roomId,
        prefix: config.prefix,
        encryptionWarning: !config.noEncryptionWarning,
        profiles: new ProfileCache(connection.messenger, config.cacheSize),
        rooms: new KeyedQueue(),
        observers: [],
      };
      const helpdesk = new Helpdesk(deps, new ChatDispatcher(deps));

      const refresh = async (): Promise<void> => {
        await options.load();
        metrics.setOpenTickets(await store.countTickets({ status: "open" }));
      };
      await refresh();
      timers.push(setInterval(() => void refresh().catch((error: unknown) => logger.warn("could not reload options", { error: String(error) })), OPTIONS_RELOAD_MS));

      // A short tick that runs the check when it is due, so a new `autoclose.after` set from
      // chat or the CLI applies within seconds rather than after the old interval.
      let lastAutoClose = 0;
      let autoClosing = false;
      const autoCloseTick = async (): Promise<void> => {
        const after = options.get("autoclose.after");
        const now = opts.clock.now().getTime();
        if (autoClosing || after === 0 || now - lastAutoClose < autoCloseInterval(after)) return;
        autoClosing = true;
        lastAutoClose = now;
        try {
          const n = await helpdesk.autoClose();
          if (n > 0) logger.info("auto-closed idle requests", { count: n });
        } catch (error) {
          logger.error("auto-close failed", { error: String(error) });
        } finally {
          autoClosing = false;
        }
      };
      timers.push(setInterval(() => void autoCloseTick(), AUTO_CLOSE_TICK_MS));
      void autoCloseTick();

      const prune = (): void =>
        void pruneOldRecords({ store, clock: opts.clock, logger }).catch((error: unknown) => {
          logger.warn("could not prune old records", { error: String(error) });
        });
      timers.push(setInterval(prune, PRUNE_INTERVAL_MS));
      prune();

      logger.info("serving", { user: connection.userId, device: connection.deviceId, operatorsRoom: opts.matrix.roomId });
      opts.onReady?.({ httpUrl: http.url });
      // A failure the helpdesk throws is transient: the sync loop hands the batch over again.
      await connection.sync.run((event) => helpdesk.handle(event), signal);
    } finally {
      await connection.close();
    }
  } finally {
    for (const t of timers) clearInterval(t);
    await http.close();
    logger.info("stopped");
  }
}
