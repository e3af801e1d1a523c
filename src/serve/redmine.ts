// The Redmine sync in serve: the client, a check of its settings at start, the job handlers
// of subscriber "redmine" (with the homeserver's media, for files sent in requests), the poll,
// and what /_health and /metrics show of it.
import type { Registry } from "prom-client";
import type { HonoroitConfig } from "../config/schema.ts";
import type { HelpdeskDeps } from "../core/deps.ts";
import { failureCause, HonoroitError, messageOf, RefusedError } from "../core/errors.ts";
import type { Clock, Logger, Store } from "../core/ports.ts";
import type { JobHandler, PeriodicTask } from "../core/scheduler.ts";
import { pollTracker } from "../core/usecases/tracker-poll.ts";
import { resyncHandler } from "../core/usecases/tracker-resync.ts";
import { TRACKER_SUBSCRIBER, trackerJobHandlers } from "../core/usecases/tracker-sync.ts";
import { PromTrackerMetrics } from "../adapters/http/redmine-metrics.ts";
import { MatrixMediaSource } from "../adapters/matrix/media.ts";
import { RedmineClient, type RedmineSettings } from "../adapters/redmine/client.ts";

/** The Redmine sync of a running serve. */
export interface RedmineSync {
  handlers(deps: HelpdeskDeps): JobHandler[];
  tasks(deps: HelpdeskDeps): PeriodicTask[];
  health(): { readonly ok: boolean; readonly detail?: string };
  close(): Promise<void>;
}

/** The configured Redmine settings, or undefined when the sync is off. */
export function redmineSettings(config: HonoroitConfig): RedmineSettings | undefined {
  const r = config.redmine;
  if (r.host === null || r.apiKey === null || r.project === null) return undefined;
  return { host: r.host, apiKey: r.apiKey, project: r.project, trackerId: r.trackerId, newStatusId: r.newStatusId, inProgressStatusId: r.inProgressStatusId, doneStatusId: r.doneStatusId };
}

/**
 * Files sent in requests, fetched with the bot's saved Matrix session (the one its login keeps
 * in the database), so the sync needs nothing from the live connection.
 */
export function requestMedia(config: HonoroitConfig, store: Store): MatrixMediaSource {
  return new MatrixMediaSource({
    // Loaded at the first file: login.ts brings matrix-js-sdk, which a dry run does not need.
    session: async () => (await import("../adapters/matrix/login.ts")).savedSession(store.kv, config.dataSecret ?? undefined),
  });
}

/**
 * Checks the API key (a key Redmine does not know counts as anonymous there, so it is asked
 * who it is) and the project: a refusal stops serve with the setting to fix. Redmine down at
 * start does not: the sync waits for it.
 */
export async function checkRedmine(client: RedmineClient, settings: RedmineSettings, logger: Logger): Promise<void> {
  try {
    const me = await client.currentUser();
    const project = await client.project().catch((error: unknown) => {
      if (error instanceof RefusedError && (error.status === 404 || error.status === 403)) {
        throw new HonoroitError("BAD_CONFIG", `Redmine at ${settings.host} has no project "${settings.project}" that user ${me.login} can see (redmine.project, HONOROIT_REDMINE_PROJECT): GET /projects/${settings.project}.json answered ${error.status}. Use the project's identifier (in its URL), and make the user a member.`, { cause: error });
      }
      throw error;
    });
    logger.info("Redmine sync on", { host: settings.host, user: me.login, project: project.name });
  } catch (error) {
    if (error instanceof HonoroitError) throw error;
    if (error instanceof RefusedError && (error.status === 401 || error.status === 403)) {
      throw new HonoroitError("BAD_CONFIG", `Redmine at ${settings.host} does not accept the API key in redmine.apiKey (HONOROIT_REDMINE_APIKEY): GET /users/current.json answered ${error.status}. Use the key shown under "My account" → "API access key", and check that the REST API is enabled in Redmine's settings.`, { cause: error });
    }
    if (failureCause(error) === "final") throw error;
    logger.warn("Redmine is not reachable at start; changes wait in the outbox until it is", { host: settings.host, error: messageOf(error) });
  }
}

/** Builds the sync when Redmine is configured, after checking its settings. */
export async function startRedmine(config: HonoroitConfig, store: Store, clock: Clock, logger: Logger, registry: Registry): Promise<RedmineSync | undefined> {
  const settings = redmineSettings(config);
  if (settings === undefined) return undefined;
  const client = new RedmineClient(settings);
  try {
    await checkRedmine(client, settings, logger);
  } catch (error) {
    await client.close();
    throw error;
  }
  let outbox = { pending: 0, failed: 0 };
  const countOutbox = async (): Promise<number> => {
    const counts = await store.jobs.counts();
    const sum = (m: ReadonlyMap<string, number>): number => [...m].filter(([kind]) => kind.startsWith(`${TRACKER_SUBSCRIBER}.`)).reduce((n, [, c]) => n + c, 0);
    outbox = { pending: sum(counts.pending), failed: sum(counts.failed) };
    return outbox.pending;
  };
  const metrics = new PromTrackerMetrics(registry, clock, countOutbox);
  const everyMs = config.redmine.pollInterval * 1000;
  const media = requestMedia(config, store);
  let lastError: string | undefined;
  return {
    handlers: (deps) => [...trackerJobHandlers(deps, { tracker: client, metrics, media }), resyncHandler(deps, client)],
    tasks: (deps) => [
      {
        name: "redmine poll",
        every: () => everyMs,
        async run() {
          try {
            const result = await pollTracker(deps, { tracker: client, metrics });
            lastError = undefined;
            if (result.notes > 0 || result.closed > 0) deps.logger.info("Redmine poll", { ...result });
          } catch (error) {
            lastError = messageOf(error);
            metrics.trackerError(failureCause(error));
            throw error;
          } finally {
            await countOutbox().catch(() => 0);
          }
        },
      },
    ],
    health() {
      const polled = metrics.polledAt;
      const lag = polled === undefined ? undefined : Math.round((clock.now().getTime() - polled.getTime()) / 1000);
      const detail = [
        polled === undefined ? "not polled yet" : `last poll ${lag} s ago`,
        `${outbox.pending} change(s) waiting for Redmine`,
        ...(outbox.failed > 0 ? [`${outbox.failed} refused (see the log)`] : []),
        ...(lastError === undefined ? [] : [`last error: ${lastError}`]),
      ].join("; ");
      return { ok: lastError === undefined, detail };
    },
    async close() {
      await client.close();
      await media.close();
    },
  };
}
