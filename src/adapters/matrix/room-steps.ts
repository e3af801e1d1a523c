// What one step of a room's queue does: its head event handled, or one page of its gap read and
// handed over event by event. A failure is sorted by cause: the room waits, with backoff and
// shown in /_health, and the same item is tried again; only a failure escaping the core as final
// (a bug) or a gap the homeserver will never show is given up on, loudly.
import type { IncomingEvent } from "../../core/events.ts";
import { failureCause, messageOf, RefusedError } from "../../core/errors.ts";
import type { HandleResult } from "../../core/helpdesk.ts";
import type { RoomId } from "../../core/ids.ts";
import type { Logger, PipelineMetrics } from "../../core/ports.ts";
import { backoff } from "../../core/timing.ts";
import type { GapReader } from "./gap.ts";
import type { JsonObject } from "./json.ts";
import { parseTimelineEvent } from "./parse.ts";
import type { StepResult } from "./room-scheduler.ts";

/** Receives each event, in order per room; throws to have it tried again later. */
export type EventHandler = (event: IncomingEvent) => Promise<HandleResult | undefined>;

/** A room whose next event (or gap) waits, and why. */
export interface WaitingRoom {
  readonly room: string;
  readonly reason: string;
  readonly since: Date;
  readonly attempts: number;
}

/** An event as received (to be prepared and parsed), or already parsed (an invite). */
type Source = { readonly raw: JsonObject } | { readonly parsed: IncomingEvent };

/** What a room's queue holds: an event, or a gap to read in its place; with the batch it came in. */
export type RoomItem =
  | { readonly kind: "event"; readonly room: RoomId; readonly batch: number; readonly received: number; readonly source: Source; attempts: number }
  | { readonly kind: "gap"; readonly room: RoomId; readonly batch: number; readonly received: number; readonly reader: GapReader; attempts: number };

export interface RoomStepsOptions {
  readonly logger: Logger;
  readonly metrics: PipelineMetrics | undefined;
  /** The event to parse in place of the one received (e.g. decrypted). */
  readonly prepare: (room: RoomId, raw: JsonObject) => Promise<JsonObject>;
  /** First wait before an item is tried again, doubling to 30 s. */
  readonly retryBaseMs: number;
  /** Tries every waiting room again now: what made them wait may be gone. */
  readonly retryWaitingNow: () => void;
}

/** Attempts at a gap the homeserver refuses to show before it is given up on (loudly). */
const REFUSED_GAP_ATTEMPTS = 8;
/** Attempts at an event whose failure escaped the core as final (a bug) before it is skipped. */
const FINAL_EVENT_ATTEMPTS = 5;

/** Steps of rooms' head items, and which rooms wait and why (kept across runs, for /_health). */
export class RoomSteps {
  private readonly waiting = new Map<string, WaitingRoom>();
  private skipped = 0;

  constructor(private readonly options: RoomStepsOptions) {}

  /** The rooms waiting now. */
  get waitingRooms(): WaitingRoom[] {
    return [...this.waiting.values()];
  }

  /** Gaps given up on since start (each was logged as an error). */
  get skippedGaps(): number {
    return this.skipped;
  }

  /** One step of a room's head item: one event handled, or one gap page read; never throws. */
  async step(item: RoomItem, handler: EventHandler, signal: AbortSignal): Promise<StepResult> {
    try {
      return await this.stepOf(item, handler, signal);
    } catch (error) {
      // Only a bug gets here (the handler's failures are sorted below): wait, never drop.
      item.attempts += 1;
      this.options.logger.error("handling a room's events failed unexpectedly", { room: item.room, error: messageOf(error) });
      return this.wait(item.room, item, `unexpected: ${messageOf(error)}`);
    }
  }

  private async stepOf(item: RoomItem, handler: EventHandler, signal: AbortSignal): Promise<StepResult> {
    const { room } = item;
    if (item.kind === "event") return this.handleOne(room, item, item.source, handler);
    const { reader } = item;
    const head = reader.buffer[0];
    if (head !== undefined) {
      const result = await this.handleOne(room, item, { raw: head }, handler);
      if (result.kind !== "done") return result;
      reader.buffer.shift();
    } else if (!reader.finished) {
      try {
        await reader.readPage(signal);
        item.attempts = 0;
        this.waiting.delete(room);
      } catch (error) {
        return this.gapFailed(room, item, reader, error);
      }
    }
    if (!reader.finished || reader.buffer.length > 0) return { kind: "more" };
    this.options.logger.info("read a gap in a room's timeline", { room, pages: reader.pages, events: reader.events });
    return { kind: "done" };
  }

  private async handleOne(room: RoomId, item: RoomItem, source: Source, handler: EventHandler): Promise<StepResult> {
    const started = performance.now();
    let prepared: JsonObject;
    try {
      prepared = "parsed" in source ? {} : await this.options.prepare(room, source.raw);
    } catch (error) {
      item.attempts += 1;
      this.options.metrics?.eventError("decryption");
      return this.wait(room, item, `an event could not be decrypted yet: ${messageOf(error)}`);
    }
    const event = "parsed" in source ? source.parsed : parseTimelineEvent(room, prepared);
    if (event === undefined) return { kind: "done" };
    try {
      const result = await handler(event);
      if (this.waiting.delete(room) || event.type === "invite") {
        // What made others wait may be gone too (e.g. the bot joined the operators room).
        this.options.retryWaitingNow();
      }
      item.attempts = 0;
      this.options.metrics?.eventAttempt(result === "failed" ? "failed" : "handled");
      if (result !== "duplicate") this.options.metrics?.eventHandled((performance.now() - item.received) / 1000);
      // Where an event's time went: from its sending to its /sync answer, queued (from there to
      // its step) and handling.
      const queuedMs = Math.round(started - item.received);
      const handlingMs = Math.round(performance.now() - started);
      const ts = "ts" in event ? event.ts.getTime() : undefined;
      this.options.logger.debug("event handled", { room, event: event.eventId, type: event.type, result, ...(ts === undefined ? {} : { syncedMs: Math.round(Date.now() - ts) - queuedMs - handlingMs }), queuedMs, handlingMs });
      return { kind: "done" };
    } catch (error) {
      item.attempts += 1;
      const cause = failureCause(error);
      if (cause === "stopping") return { kind: "wait", ms: 1000 };
      this.options.metrics?.eventError(cause);
      if (cause === "final" && item.attempts >= FINAL_EVENT_ATTEMPTS) {
        this.waiting.delete(room);
        this.options.metrics?.eventAttempt("failed");
        this.options.logger.error("skipping an event that keeps failing", { room, event: event.eventId, type: event.type, error: messageOf(error) });
        return { kind: "done" };
      }
      this.options.metrics?.eventAttempt("retry");
      return this.wait(room, item, `${event.type} ${event.eventId}: ${messageOf(error)}`);
    }
  }

  private gapFailed(room: RoomId, item: RoomItem, reader: GapReader, error: unknown): StepResult {
    item.attempts += 1;
    const refused = error instanceof RefusedError;
    if (refused && (reader.gap.left || item.attempts >= REFUSED_GAP_ATTEMPTS)) {
      // Nothing we can do makes the homeserver show these events: say so, loudly, and go on.
      this.skipped += 1;
      this.waiting.delete(room);
      const why = reader.gap.left ? "the bot is no longer in the room" : `refused ${item.attempts} times`;
      this.options.logger.error(`events missed in a room cannot be read (${why}); they are not relayed`, { room, error: messageOf(error), pagesRead: reader.pages });
      return { kind: "done" };
    }
    return this.wait(room, item, `missed events cannot be read yet: ${messageOf(error)}`);
  }

  private wait(room: RoomId, item: RoomItem, reason: string): StepResult {
    const previous = this.waiting.get(room);
    this.waiting.set(room, { room, reason, since: previous?.since ?? new Date(), attempts: item.attempts });
    const ms = backoff(item.attempts - 1, this.options.retryBaseMs, 30_000);
    // The first failure, then every tenth: a long wait is visible without flooding the log.
    if (item.attempts === 1 || item.attempts % 10 === 0) {
      this.options.logger.warn(`a room waits; retrying in ${Math.round(ms / 1000)}s`, { room, attempts: item.attempts, reason });
    }
    return { kind: "wait", ms };
  }
}
