import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { EventErrorKind, EventOutcome, JobCounts, JobMetrics, JobOutcome, Metrics, PipelineMetrics } from "../../core/ports.ts";
export { bridgeSource, BRIDGE_PREFIXES } from "../../core/bridge-source.ts";

export interface PromMetricsOptions {
  /** Also export Node's process metrics (CPU, memory, event loop, GC). */
  readonly processMetrics?: boolean;
  /** Label customer messages with the customer's Matrix ID (personal data; off by default). */
  readonly customerLabels?: boolean;
}

/**
 * The Go bot's counters under the same series names (no `_total` added, so existing dashboards
 * keep working), on a registry of this instance's own.
 */
export class PromMetrics implements Metrics, PipelineMetrics, JobMetrics {
  readonly registry = new Registry();
  private readonly requestNewCounter: Counter;
  private readonly requestDoneCounter: Counter;
  private readonly messagesTotal: Counter;
  private readonly messagesOperator: Counter;
  private readonly messagesCustomer: Counter<"source" | "sender" | "domain">;
  private readonly customerLabels: boolean;
  private readonly ticketsOpen: Gauge;
  private readonly events: Counter<"outcome">;
  private readonly eventsQueued: Gauge;
  private readonly eventsInFlight: Gauge;
  private readonly handling: Histogram;
  private readonly jobs: Counter<"kind" | "outcome">;
  private readonly jobsPending: Gauge<"kind">;
  private readonly jobsFailed: Gauge<"kind">;
  private readonly tasks: Counter<"task" | "outcome">;
  private readonly relaySeconds: Histogram<"direction">;
  private readonly errors: Counter<"kind">;
  private readonly lag: Gauge;
  private readonly undecryptableEvents: Counter<"outcome">;
  /** Where the open-requests gauge reads its value at each scrape. */
  private openTickets: (() => Promise<number>) | undefined;

  constructor(options: PromMetricsOptions = {}) {
    const registers = [this.registry];
    this.customerLabels = options.customerLabels === true;
    this.requestNewCounter = new Counter({ name: "honoroit_request_new", help: "Requests opened", registers });
    this.requestDoneCounter = new Counter({ name: "honoroit_request_done", help: "Requests closed", registers });
    this.messagesTotal = new Counter({
      name: "honoroit_messages_total",
      help: "Messages relayed, from customers and operators",
      registers,
    });
    this.messagesOperator = new Counter({
      name: "honoroit_messages_operator",
      help: "Operator messages relayed to customers",
      registers,
    });
    this.messagesCustomer = new Counter({
      name: "honoroit_messages_customer",
      help: "Customer messages relayed to the operators room",
      labelNames: options.customerLabels === true ? (["source", "sender", "domain"] as const) : (["source", "domain"] as const),
      registers,
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client calls collect with the gauge as `this`
    const self = this;
    this.ticketsOpen = new Gauge({
      name: "honoroit_tickets_open",
      help: "Requests open now (counted in the database at each scrape)",
      registers,
      async collect() {
        if (self.openTickets === undefined) return;
        try {
          this.set(await self.openTickets());
        } catch {
          // The database is unreachable: the last value stays, /_health says why.
        }
      },
    });
    this.relaySeconds = new Histogram({
      name: "honoroit_relay_seconds",
      help: "From a message being sent (its server timestamp) to its copy having been sent on, by direction",
      labelNames: ["direction"] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.errors = new Counter({
      name: "honoroit_errors_total",
      help: "Failed attempts at incoming events by kind: unavailable, busy, not-ready (retried), final (the sender was told), decryption (retried)",
      labelNames: ["kind"] as const,
      registers,
    });
    this.undecryptableEvents = new Counter({
      name: "honoroit_undecryptable_events_total",
      help: "Encrypted events not decryptable at first: seen, retried, decrypted_late (their key came), given_up (handled as undecryptable after the grace period)",
      labelNames: ["outcome"] as const,
      registers,
    });
    this.lag = new Gauge({ name: "honoroit_sync_lag_seconds", help: "How late the newest event of the last /sync answer reached the bot, after it was sent", registers });
    this.events = new Counter({
      name: "honoroit_events_total",
      help: "Attempts at incoming events: handled, failed for good (the sender was told), or to be retried",
      labelNames: ["outcome"] as const,
      registers,
    });
    this.eventsQueued = new Gauge({ name: "honoroit_events_queued", help: "Events received and waiting to be handled", registers });
    this.eventsInFlight = new Gauge({ name: "honoroit_events_in_flight", help: "Events being handled right now", registers });
    this.handling = new Histogram({
      name: "honoroit_event_handling_seconds",
      help: "From an event's arrival at the bot to the end of its handling",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.jobs = new Counter({ name: "honoroit_jobs_total", help: "Job runs by kind and outcome (done, retry, failed)", labelNames: ["kind", "outcome"] as const, registers });
    this.jobsPending = new Gauge({ name: "honoroit_jobs_pending", help: "Jobs waiting to run, by kind", labelNames: ["kind"] as const, registers });
    this.jobsFailed = new Gauge({ name: "honoroit_jobs_failed", help: "Jobs given up on, by kind (kept in the database)", labelNames: ["kind"] as const, registers });
    this.tasks = new Counter({ name: "honoroit_tasks_total", help: "Periodic task runs (auto-close, retention, options reload) by outcome", labelNames: ["task", "outcome"] as const, registers });
    if (options.processMetrics === true) collectDefaultMetrics({ register: this.registry });
  }

  requestNew(): void {
    this.requestNewCounter.inc();
  }

  requestDone(): void {
    this.requestDoneCounter.inc();
  }

  customerMessage(source: string, sender: string, domain: string): void {
    this.messagesTotal.inc();
    this.messagesCustomer.inc(this.customerLabels ? { source, sender, domain } : { source, domain });
  }

  operatorMessage(): void {
    this.messagesTotal.inc();
    this.messagesOperator.inc();
  }

  eventAttempt(outcome: EventOutcome): void {
    this.events.inc({ outcome });
  }

  eventsPending(queued: number, inFlight: number): void {
    this.eventsQueued.set(queued);
    this.eventsInFlight.set(inFlight);
  }

  eventHandled(seconds: number): void {
    this.handling.observe(seconds);
  }

  jobRun(kind: string, outcome: JobOutcome): void {
    this.jobs.inc({ kind, outcome });
  }

  jobsQueued(counts: JobCounts): void {
    this.jobsPending.reset();
    this.jobsFailed.reset();
    for (const [kind, n] of counts.pending) this.jobsPending.set({ kind }, n);
    for (const [kind, n] of counts.failed) this.jobsFailed.set({ kind }, n);
  }

  taskRun(task: string, outcome: JobOutcome): void {
    this.tasks.inc({ task, outcome });
  }

  relayLatency(direction: "customer-to-thread" | "operator-to-customer", seconds: number): void {
    this.relaySeconds.observe({ direction }, seconds);
  }

  eventError(kind: EventErrorKind): void {
    this.errors.inc({ kind });
  }

  undecryptable(outcome: "seen" | "retried" | "decrypted_late" | "given_up"): void {
    this.undecryptableEvents.inc({ outcome });
  }

  syncLag(seconds: number): void {
    this.lag.set(seconds);
  }

  /** Counts open requests at each scrape from `source` (serve passes the store's count). */
  countOpenTicketsWith(source: () => Promise<number>): void {
    this.openTickets = source;
  }

  /** The Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
