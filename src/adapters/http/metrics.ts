import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { Metrics } from "../../core/ports.ts";
export { bridgeSource, BRIDGE_PREFIXES } from "../../core/bridge-source.ts";

export interface PromMetricsOptions {
  /** Also export Node's process metrics (CPU, memory, event loop, GC). */
  readonly processMetrics?: boolean;
}

/**
 * The Go bot's counters under the same series names (no `_total` added, so existing dashboards
 * keep working), on a registry of this instance's own.
 */
export class PromMetrics implements Metrics {
  readonly registry = new Registry();
  private readonly requestNewCounter: Counter;
  private readonly requestDoneCounter: Counter;
  private readonly messagesTotal: Counter;
  private readonly messagesOperator: Counter;
  private readonly messagesCustomer: Counter<"source" | "sender" | "domain">;
  private readonly ticketsOpen: Gauge;

  constructor(options: PromMetricsOptions = {}) {
    const registers = [this.registry];
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
      labelNames: ["source", "sender", "domain"] as const,
      registers,
    });
    this.ticketsOpen = new Gauge({ name: "honoroit_tickets_open", help: "Requests currently open", registers });
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
    this.messagesCustomer.inc({ source, sender, domain });
  }

  operatorMessage(): void {
    this.messagesTotal.inc();
    this.messagesOperator.inc();
  }

  /** Sets the open-requests gauge (serve updates it; it is not part of the Metrics port). */
  setOpenTickets(count: number): void {
    this.ticketsOpen.set(count);
  }

  /** The Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
