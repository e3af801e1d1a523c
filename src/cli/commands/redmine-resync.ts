import { HonoroitError } from "../../core/errors.ts";
import { parseTicketId, type TicketId } from "../../core/ids.ts";
import type { Store } from "../../core/ports.ts";
import type { ResyncItem } from "../../core/usecases/tracker-resync.ts";
import type { CommandInput } from "../command.ts";
import type { CliContext } from "../context.ts";
import type { Output } from "../output.ts";

/** How long the CLI waits for the queued work (by serve, or by itself). */
const WAIT_MS = 120_000;

function describe(item: ResyncItem): string {
  const what = item.issue === null ? `#${item.ticket} (no issue)` : `#${item.ticket} (issue #${item.issue})`;
  return item.actions.length === 0 ? `${what}: in step` : `${what}: ${item.actions.join("; ")}`;
}

/** A progress bar on stderr, on a terminal only. */
function progressBar(): { show(label: string, done: number, total: number): void; end(): void } {
  const err = process.stderr;
  if (!err.isTTY) return { show: () => undefined, end: () => undefined };
  let shown = false;
  return {
    show(label, done, total) {
      shown = true;
      const width = 30;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      err.write(`\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} ${label}\x1b[K`);
    },
    end() {
      if (shown) err.write("\n");
      shown = false;
    },
  };
}

/** Redmine jobs still waiting, of any ticket. */
async function waiting(store: Store): Promise<number> {
  const { pending } = await store.jobs.counts();
  return [...pending].filter(([kind]) => kind.startsWith("redmine.")).reduce((n, [, c]) => n + c, 0);
}

async function waitForOutbox(store: Store, step: () => Promise<void>): Promise<boolean> {
  const deadline = Date.now() + WAIT_MS;
  const bar = progressBar();
  const total = await waiting(store);
  try {
    while (Date.now() < deadline) {
      const left = await waiting(store);
      bar.show("changes made", Math.max(0, total - left), Math.max(total, left));
      if (left === 0) return true;
      await step();
    }
    return false;
  } finally {
    bar.end();
  }
}

/** `honoroit redmine resync`, as declared in the command table (index.ts). */
export async function run({ options }: CommandInput, ctx: CliContext): Promise<Output> {
  const config = await ctx.config();
  const logger = await ctx.logger();
  const { redmineSettings, requestMedia } = await import("../../serve/redmine.ts");
  const settings = redmineSettings(config);
  if (settings === undefined) throw new HonoroitError("BAD_CONFIG", "Redmine is not configured: set redmine.host, redmine.apiKey and redmine.project (HONOROIT_REDMINE_HOST, _APIKEY, _PROJECT)");
  const only: TicketId | undefined = typeof options["ticket"] === "string" ? parseTicketId(Number(options["ticket"].replace("#", ""))) : undefined;
  const store = await ctx.store({ mustExist: true });
  const { RedmineClient } = await import("../../adapters/redmine/client.ts");
  const { planResync, queueResync, resyncHandler } = await import("../../core/usecases/tracker-resync.ts");
  const client = new RedmineClient(settings);
  try {
    const bar = progressBar();
    const items = await planResync(store, client, only, (checked, total) => bar.show("requests checked", checked, total));
    bar.end();
    const todo = items.filter((i) => i.actions.length > 0);
    const lines = items.map(describe);
    const summary = `${items.length} request(s) checked, ${todo.length} out of step`;
    if (options["dryRun"] === true || todo.length === 0) {
      return { kind: "lines", lines: [...lines, options["dryRun"] === true && todo.length > 0 ? `${summary} (dry run: nothing done)` : summary], json: { items, done: false } };
    }
    await queueResync(store, items, ctx.clock.now());

    // With no serve running, this process takes serve's lock and runs the queue itself.
    const { openServeLock } = await import("../../adapters/storage/serve-lock.ts");
    const lock = await openServeLock(config.db.dialect, config.db.dsn, logger);
    let done: boolean;
    let by: string;
    if (await lock.tryAcquire()) {
      by = "done here";
      try {
        const { requireMatrixLogin } = await import("../../config/load.ts");
        const matrix = requireMatrixLogin(config);
        const { PromMetrics } = await import("../../adapters/http/metrics.ts");
        const { RuntimeOptions } = await import("../../core/runtime-options.ts");
        const { connectAsBot, helpdeskDeps } = await import("../../serve/helpdesk-deps.ts");
        const { Scheduler } = await import("../../core/scheduler.ts");
        const { trackerJobHandlers } = await import("../../core/usecases/tracker-sync.ts");
        const connection = await connectAsBot(config, matrix, store, logger);
        try {
          const metrics = new PromMetrics();
          const opts = await RuntimeOptions.load(store.options, logger);
          const deps = helpdeskDeps({ config, operatorsRoom: matrix.roomId, store, messenger: connection.messenger, options: opts, clock: ctx.clock, logger, metrics });
          const quiet = { trackerError: () => undefined, trackerPolled: () => undefined };
          const media = requestMedia(config, store);
          try {
            const scheduler = new Scheduler({ store, clock: ctx.clock, logger, metrics }, [...trackerJobHandlers(deps, { tracker: client, metrics: quiet, media }), resyncHandler(deps, client)], []);
            done = await waitForOutbox(store, async () => {
              await scheduler.tick();
              await new Promise((resolve) => setTimeout(resolve, 200));
            });
          } finally {
            await media.close();
          }
        } finally {
          await connection.close();
        }
      } finally {
        await lock.release();
      }
    } else {
      // A serve holds the database and runs the same outbox: it does the work.
      by = "done by the running serve";
      done = await waitForOutbox(store, () => new Promise((resolve) => setTimeout(resolve, 300)));
    }
    if (!done) throw new HonoroitError("BUSY", `${summary}; the changes are queued but not all done within ${WAIT_MS / 1000} s (is Redmine reachable? see the log or /_health); serve goes on with them`, { details: lines });
    return { kind: "lines", lines: [...lines, `${summary}: ${by}`], json: { items, done: true } };
  } finally {
    await client.close();
  }
}
