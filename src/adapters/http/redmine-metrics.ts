import { Counter, Gauge, type Registry } from "prom-client";
import type { Clock } from "../../core/ports.ts";
import type { TrackerMetrics } from "../../core/ports/issue-tracker.ts";

/** The Redmine sync's series, on the bot's registry: errors by cause, poll lag, outbox depth. */
export class PromTrackerMetrics implements TrackerMetrics {
  private readonly errors: Counter<"cause">;
  private lastPoll: Date | undefined;

  constructor(registry: Registry, clock: Clock, outboxDepth: () => Promise<number>) {
    const registers = [registry];
    this.errors = new Counter({ name: "honoroit_redmine_errors_total", help: "Failed requests to Redmine, by cause (unavailable, busy, not-ready, final)", labelNames: ["cause"] as const, registers });
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client calls collect with the gauge as `this`
    const self = this;
    new Gauge({
      name: "honoroit_redmine_poll_lag_seconds",
      help: "Seconds since the last poll of Redmine that went through (-1: none yet)",
      registers,
      collect() {
        this.set(self.lastPoll === undefined ? -1 : (clock.now().getTime() - self.lastPoll.getTime()) / 1000);
      },
    });
    new Gauge({
      name: "honoroit_redmine_outbox_jobs",
      help: "Changes waiting to be written to Redmine (the outbox)",
      registers,
      async collect() {
        this.set(await outboxDepth());
      },
    });
  }

  trackerError(cause: string): void {
    this.errors.inc({ cause });
  }

  trackerPolled(at: Date): void {
    this.lastPoll = at;
  }

  /** When the last poll went through. */
  get polledAt(): Date | undefined {
    return this.lastPoll;
  }
}
