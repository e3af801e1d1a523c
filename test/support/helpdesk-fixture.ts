import { ChatDispatcher } from "../../src/chat/dispatcher.ts";
import { ProfileCache, type HelpdeskDeps } from "../../src/core/deps.ts";
import type { IncomingEvent, MessageBody } from "../../src/core/events.ts";
import { Helpdesk } from "../../src/core/helpdesk.ts";
import { KeyedQueue } from "../../src/core/keyed-queue.ts";
import type { EventId, RoomId, UserId } from "../../src/core/ids.ts";
import type { Clock, Logger, Metrics, Store } from "../../src/core/ports.ts";
import { RuntimeOptions } from "../../src/core/runtime-options.ts";
import { FakeMessenger } from "./fake-messenger.ts";
import { openStore } from "../../src/adapters/storage/open-store.ts";

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  constructor(public current = new Date("2026-01-01T10:00:00Z")) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/** Counts what the core reported. */
export class CountingMetrics implements Metrics {
  newRequests = 0;
  doneRequests = 0;
  customer: { source: string; sender: string; domain: string }[] = [];
  operator = 0;
  requestNew(): void {
    this.newRequests++;
  }
  requestDone(): void {
    this.doneRequests++;
  }
  customerMessage(source: string, sender: string, domain: string): void {
    this.customer.push({ source, sender, domain });
  }
  operatorMessage(): void {
    this.operator++;
  }
  readonly latencies: { direction: string; seconds: number }[] = [];
  relayLatency(direction: string, seconds: number): void {
    this.latencies.push({ direction, seconds });
  }
}

/** Keeps log lines for assertions. */
export class MemoryLogger implements Logger {
  readonly lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  debug(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: "debug", message, ...(fields ? { fields } : {}) });
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: "info", message, ...(fields ? { fields } : {}) });
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: "warn", message, ...(fields ? { fields } : {}) });
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: "error", message, ...(fields ? { fields } : {}) });
  }
}

export const BOT = "@honoroit:example.com" as UserId;
export const OPS = "!operators:example.com" as RoomId;

/** A helpdesk wired to in-memory fakes, plus helpers to feed it events. */
export async function makeHelpdesk(): Promise<{
  helpdesk: Helpdesk;
  deps: HelpdeskDeps;
  messenger: FakeMessenger;
  store: Store;
  clock: ManualClock;
  metrics: CountingMetrics;
  logger: MemoryLogger;
  message: (room: RoomId, sender: UserId, content: MessageBody | string, extra?: { threadRoot?: EventId; replyTo?: EventId }) => IncomingEvent;
}> {
  // A real SQL store on a private in-memory SQLite database: the core's tests run on the same
  // statements and transactions as the product.
  const store = await openStore({ dialect: "sqlite", dsn: ":memory:" });
  await store.migrate();
  const messenger = new FakeMessenger(BOT);
  // @op:example.com is the operators room's admin; other operators have the default level 0.
  messenger.powerLevels.set(`${OPS} @op:example.com`, 100);
  const clock = new ManualClock();
  const metrics = new CountingMetrics();
  const logger = new MemoryLogger();
  const options = new RuntimeOptions(store.options, logger);
  await options.load();
  const deps: HelpdeskDeps = {
    store,
    messenger,
    options,
    clock,
    logger,
    metrics,
    operatorsRoom: OPS,
    prefix: "!ho",
    encryptionWarning: true,
    profiles: new ProfileCache(messenger, 100),
    rooms: new KeyedQueue(),
    // No pipeline here: events are handed to the helpdesk one by one, so nothing is pending.
    inbox: { settled: () => Promise.resolve() },
    subscribers: [],
  };
  const helpdesk = new Helpdesk(deps, new ChatDispatcher(deps));
  let n = 0;
  const message = (room: RoomId, sender: UserId, content: MessageBody | string, extra: { threadRoot?: EventId; replyTo?: EventId } = {}): IncomingEvent => ({
    type: "message",
    room,
    sender,
    eventId: `$in${++n}` as EventId,
    ts: clock.now(),
    content: typeof content === "string" ? { msgtype: "m.text", body: content } : content,
    ...extra,
  });
  return { helpdesk, deps, messenger, store, clock, metrics, logger, message };
}
