import { failureCause, messageOf } from "./errors.ts";
import type { Clock, Job, JobMetrics, Logger, Store } from "./ports.ts";
import { backoff, sleep } from "./timing.ts";

/** Runs one kind of queued job; throws to have it retried (or failed, when the cause is final). */
export interface JobHandler {
  readonly kind: string;
  run(job: Job): Promise<void>;
  /**
   * The longest wait between retries (ms), when a service's outage should not leave work
   * waiting up to an hour after it is back (default: the general cap of an hour).
   */
  readonly maxBackoffMs?: number;
}

/** Work that recurs: auto-close, retention, reloading options. */
export interface PeriodicTask {
  readonly name: string;
  /** Milliseconds between runs; read on every tick, so a changed option applies at once. */
  every(): number;
  run(): Promise<void>;
}

export interface SchedulerDeps {
  readonly store: Pick<Store, "jobs">;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: JobMetrics;
}

export interface SchedulerOptions {
  /** How often due work is looked for (ms), default 1000. */
  readonly tickMs?: number;
  /** Jobs taken per tick, default 20. */
  readonly batch?: number;
  /** How often the queue's counts are refreshed for /metrics (ms), default 15 s. */
  readonly countsEveryMs?: number;
}

/** Backoff after the n-th failure (1-based) of a job: 5 s doubling, at most an hour. */
export function jobBackoffMs(failures: number): number {
  return backoff(failures - 1, 5000, 3_600_000);
}

interface TaskState {
  lastRun: number;
  failures: number;
  running: boolean;
  lastError?: string;
}

/**
 * The one scheduler of work that outlives a request: durable jobs from the outbox (written in
 * the transaction of their cause, so none is lost) and periodic tasks. Failures are sorted by
 * cause: a service down or busy is retried with backoff, a final failure marks the job failed.
 * Everything is counted in /metrics; a task that keeps failing shows in /_health.
 */
export class Scheduler {
  private readonly handlers: ReadonlyMap<string, JobHandler>;
  private readonly tasks: readonly { readonly task: PeriodicTask; readonly state: TaskState }[];
  private lastCounts = Number.NEGATIVE_INFINITY;
  /** The job pass in progress: one at a time, or a job completed meanwhile could run twice. */
  private jobPass: Promise<void> | undefined;

  constructor(
    private readonly deps: SchedulerDeps,
    handlers: readonly JobHandler[],
    tasks: readonly PeriodicTask[],
    private readonly options: SchedulerOptions = {},
  ) {
    this.handlers = new Map(handlers.map((h) => [h.kind, h]));
    // Every task is due at start.
    this.tasks = tasks.map((task) => ({ task, state: { lastRun: Number.NEGATIVE_INFINITY, failures: 0, running: false } }));
  }

  /** Ticks until `signal` fires, then waits for the work in hand. */
  async run(signal: AbortSignal): Promise<void> {
    const tickMs = this.options.tickMs ?? 1000;
    const inFlight = new Set<Promise<void>>();
    while (!signal.aborted) {
      const pass = this.tick().catch((error: unknown) => {
        this.deps.logger.warn("the scheduler could not look for due work", { error: messageOf(error) });
      });
      inFlight.add(pass);
      void pass.finally(() => inFlight.delete(pass));
      await sleep(tickMs, signal);
    }
    await Promise.allSettled([...inFlight]);
  }

  /** One pass: starts every due task, and runs the due jobs unless a job pass is still going. */
  async tick(): Promise<void> {
    const now = this.deps.clock.now().getTime();
    const tasks = this.tasks.filter(({ state, task }) => !state.running && now >= state.lastRun + this.delayOf(task, state));
    this.jobPass ??= this.runJobs(now).finally(() => {
      this.jobPass = undefined;
    });
    await Promise.all([...tasks.map((t) => this.runTask(t.task, t.state)), this.jobPass]);
  }

  /** Periodic tasks that are failing, for /_health. */
  health(): { readonly ok: boolean; readonly detail?: string } {
    const failing = this.tasks.filter((t) => t.state.failures > 0);
    if (failing.length === 0) return { ok: true };
    return { ok: false, detail: failing.map((t) => `${t.task.name} failing (${t.state.failures}×): ${t.state.lastError ?? "?"}`).join("; ") };
  }

  private delayOf(task: PeriodicTask, state: TaskState): number {
    return state.failures > 0 ? Math.min(task.every(), jobBackoffMs(state.failures)) : task.every();
  }

  private async runTask(task: PeriodicTask, state: TaskState): Promise<void> {
    state.running = true;
    try {
      await task.run();
      state.failures = 0;
      delete state.lastError;
      this.deps.metrics.taskRun(task.name, "done");
    } catch (error) {
      state.failures += 1;
      state.lastError = messageOf(error);
      this.deps.metrics.taskRun(task.name, "retry");
      this.deps.logger.warn(`${task.name} failed; it runs again later`, { error: state.lastError, failures: state.failures });
    } finally {
      state.lastRun = this.deps.clock.now().getTime();
      state.running = false;
    }
  }

  private async runJobs(now: number): Promise<void> {
    const { jobs } = this.deps.store;
    if (this.handlers.size > 0) {
      const due = await jobs.due(new Date(now), [...this.handlers.keys()], this.options.batch ?? 20);
      await Promise.all(due.map((job) => this.runJob(job)));
    }
    if (now - this.lastCounts >= (this.options.countsEveryMs ?? 15_000)) {
      this.lastCounts = now;
      this.deps.metrics.jobsQueued(await jobs.counts());
    }
  }

  private async runJob(job: Job): Promise<void> {
    const handler = this.handlers.get(job.kind);
    if (handler === undefined) return;
    const { jobs } = this.deps.store;
    try {
      await handler.run(job);
      await jobs.complete(job.id);
      this.deps.metrics.jobRun(job.kind, "done");
    } catch (error) {
      const message = messageOf(error);
      if (failureCause(error) === "final") {
        await jobs.fail(job.id, message);
        this.deps.metrics.jobRun(job.kind, "failed");
        this.deps.logger.error("a job failed for good", { job: job.id, kind: job.kind, key: job.key, error: message });
      } else {
        const wait = Math.min(jobBackoffMs(job.attempts + 1), handler.maxBackoffMs ?? Number.POSITIVE_INFINITY);
        await jobs.retry(job.id, new Date(this.deps.clock.now().getTime() + wait), message);
        this.deps.metrics.jobRun(job.kind, "retry");
        this.deps.logger.warn(`a job failed; retrying in ${Math.round(wait / 1000)}s`, { job: job.id, kind: job.kind, error: message });
      }
    }
  }
}
