// Our own /sync loop: the sync position is saved only after every event it covers was handed
// to the core, so a crash replays a batch (the core de-duplicates) rather than losing one.
import type { IncomingEvent } from "../../core/events.ts";
import { HonoroitError } from "../../core/errors.ts";
import { parseRoomId } from "../../core/ids.ts";
import type { RoomId, UserId } from "../../core/ids.ts";
import type { Logger, SyncState } from "../../core/ports.ts";
import { backoffMs, classifyFailure, MatrixRequestError, Method, path, sleep } from "./api.ts";
import type { MatrixApi, Query } from "./api.ts";
import { arrayAt, isObject, objectAt, stringAt } from "./json.ts";
import type { JsonObject } from "./json.ts";
import { parseInvite, parseTimelineEvent } from "./parse.ts";

/** Receives each event; the loop waits for it before saving the sync position. */
export type EventHandler = (event: IncomingEvent) => Promise<void>;

/** The loop's view of the homeserver, for `/_health`. */
export interface SyncHealth {
  readonly homeserver: "ok" | "unreachable";
  readonly lastSyncAt?: Date;
  readonly lastError?: string;
}

export interface SyncLoopOptions {
  readonly api: MatrixApi;
  readonly botUser: UserId;
  readonly state: SyncState;
  readonly logger: Logger;
  /** Server-side long-poll of one /sync, default 30 s. */
  readonly pollMs?: number;
  /** Timeline events per room and sync, default 100. */
  readonly timelineLimit?: number;
  /** Pages of `timelineLimit` events fetched to fill a gap (a `limited` timeline), default 1000: a safety stop only, as a bigger gap loses events. */
  readonly backfillPages?: number;
  /** Stops the loop for good (the connection is closing), in addition to run's own signal. */
  readonly signal?: AbortSignal;
}

const NO_NOISE = { types: [] as string[] };

/**
 * Runs /sync until stopped and hands every event to a handler: invites first, then each
 * room's timeline in order (rooms concurrently), gaps filled from /messages, and only then
 * saves `next_batch`. A handler that throws fails the batch: it is synced again after a
 * backoff (handlers must be idempotent; the core decides which failures are final). The bot's own events are delivered too (the core skips them).
 * On the very first start only pending invites are delivered; history is not replayed.
 */
export class SyncLoop {
  private readonly pollMs: number;
  private readonly timelineLimit: number;
  private readonly backfillPages: number;
  private filterId: string | undefined;
  private running: Promise<void> | undefined;
  private status: SyncHealth = { homeserver: "ok" };

  constructor(private readonly options: SyncLoopOptions) {
    this.pollMs = options.pollMs ?? 30_000;
    this.timelineLimit = options.timelineLimit ?? 100;
    this.backfillPages = options.backfillPages ?? 1000;
  }

  /** Whether the homeserver answered the last /sync, when it last did, and the last error. */
  health(): SyncHealth {
    return { ...this.status };
  }

  /**
   * Syncs until `signal` fires (then resolves, after the batch in hand is delivered). An
   * unreachable homeserver is retried with backoff; a refusal (e.g. the token was logged out)
   * or a failing SyncState rejects, without saving a position past undelivered events.
   */
  async run(handler: EventHandler, signal?: AbortSignal): Promise<void> {
    if (this.running !== undefined) throw new Error("the sync loop is already running");
    const signals = [this.options.signal, signal].filter((s): s is AbortSignal => s !== undefined);
    const stop = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    this.running = this.loop(handler, stop);
    try {
      await this.running;
    } catch (error) {
      // A request cut short by the stop signal is a stop, not a failure.
      if (stop?.aborted !== true) throw error;
    } finally {
      this.running = undefined;
    }
  }

  /** Resolves once a running loop has stopped (at once when none runs); never rejects. */
  async stopped(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  private async loop(handler: EventHandler, signal: AbortSignal | undefined): Promise<void> {
    let since = await this.options.state.getSyncToken();
    if (since === undefined) {
      since = await this.firstSync(handler, signal);
      if (since === undefined) return;
    }
    const filter = await this.uploadFilter(signal);
    let failedBatches = 0;
    for (;;) {
      const response = await this.sync({ since, filter, timeout: String(this.pollMs) }, signal);
      if (response === undefined) return;
      const next = stringAt(response, "next_batch");
      if (next === undefined) throw new Error("the homeserver's /sync answer has no next_batch");
      try {
        await this.deliver(response, since, handler, signal);
      } catch (error) {
        // The position stays where it was: the batch is synced and handed over again (the
        // core skips what it already handled), so nothing in it is lost.
        if (signal?.aborted === true) return;
        if (error instanceof HonoroitError && error.code === "UNREACHABLE") {
          await this.unreachable(error.message, signal, failedBatches++);
        } else {
          const waitMs = backoffMs(failedBatches++);
          this.options.logger.error(`handling a batch failed; it is synced and handled again in ${Math.round(waitMs / 1000)}s`, { error });
          await sleep(waitMs, signal);
        }
        continue;
      }
      failedBatches = 0;
      // Handlers may have failed because of the shutdown: the next start replays this batch.
      if (signal?.aborted === true) return;
      await this.options.state.setSyncToken(next);
      since = next;
    }
  }

  /** One quick sync without history: delivers pending invites, saves the position. */
  private async firstSync(handler: EventHandler, signal: AbortSignal | undefined): Promise<string | undefined> {
    const filter = JSON.stringify({
      presence: NO_NOISE,
      account_data: NO_NOISE,
      room: { timeline: { limit: 0 }, state: { lazy_load_members: true }, ephemeral: NO_NOISE, account_data: NO_NOISE },
    });
    const response = await this.sync({ filter, timeout: "0" }, signal);
    if (response === undefined) return undefined;
    const next = stringAt(response, "next_batch");
    if (next === undefined) throw new Error("the homeserver's /sync answer has no next_batch");
    await this.deliverInvites(objectAt(objectAt(response, "rooms"), "invite"), handler);
    if (signal?.aborted === true) return undefined;
    await this.options.state.setSyncToken(next);
    this.options.logger.info("first sync done: from now on every event is relayed", { user: this.options.botUser });
    return next;
  }

  /** A /sync answer, retried until the homeserver gives one; undefined once aborted. */
  private async sync(query: Query, signal: AbortSignal | undefined): Promise<JsonObject | undefined> {
    let failures = 0;
    for (;;) {
      if (signal?.aborted === true) return undefined;
      try {
        const response = await this.options.api.once(Method.Get, "/sync", {
          query,
          timeoutMs: this.pollMs + 30_000,
          ...(signal === undefined ? {} : { signal }),
        });
        if (!isObject(response)) throw new SyntaxError("the /sync answer is not a JSON object");
        if (this.status.homeserver === "unreachable") this.options.logger.info("homeserver reachable again");
        this.status = { homeserver: "ok", lastSyncAt: new Date() };
        return response;
      } catch (error) {
        const failure = classifyFailure(error, signal);
        switch (failure.kind) {
          case "aborted":
            return undefined;
          case "rejected":
            this.status = { ...this.status, lastError: failure.message };
            if (failure.errcode === "M_UNKNOWN_TOKEN") {
              throw new HonoroitError("BAD_CONFIG", `the homeserver no longer accepts the bot's access token (${failure.message}); log in again`, { cause: error });
            }
            throw new Error(`/sync refused: ${failure.message}`, { cause: error });
          case "rate-limited": {
            const wait = failure.retryAfterMs ?? backoffMs(failures);
            this.options.logger.warn(`homeserver rate limit on /sync, retrying in ${Math.ceil(wait / 1000)}s`);
            await sleep(wait, signal);
            break;
          }
          case "unreachable":
            await this.unreachable(failure.message, signal, failures);
            failures += 1;
            break;
        }
      }
    }
  }

  private async unreachable(message: string, signal: AbortSignal | undefined, failures = 0): Promise<void> {
    const wait = backoffMs(failures);
    this.status = { ...this.status, homeserver: "unreachable", lastError: message };
    this.options.logger.warn(`homeserver unreachable, retrying in ${Math.round(wait / 1000)}s`, { error: message });
    await sleep(wait, signal);
  }

  private async uploadFilter(signal: AbortSignal | undefined): Promise<string> {
    if (this.filterId !== undefined) return this.filterId;
    const filter = {
      presence: NO_NOISE,
      account_data: NO_NOISE,
      room: {
        // The bot's own events (its relays) are most of the operators room: not fetching them
        // keeps batches and gaps small. The core has no use for them.
        timeline: { limit: this.timelineLimit, not_senders: [this.options.botUser] },
        state: { lazy_load_members: true },
        ephemeral: NO_NOISE,
        account_data: NO_NOISE,
      },
    };
    const response = await this.options.api.requestObject(Method.Post, path`/user/${this.options.botUser}/filter`, {
      body: filter,
      maxAttempts: Infinity,
      ...(signal === undefined ? {} : { signal }),
    });
    const id = stringAt(response, "filter_id");
    if (id === undefined) throw new Error("the homeserver did not return a filter id");
    this.filterId = id;
    return id;
  }

  private async deliver(response: JsonObject, since: string, handler: EventHandler, signal: AbortSignal | undefined): Promise<void> {
    const rooms = objectAt(response, "rooms");
    await this.deliverInvites(objectAt(rooms, "invite"), handler);
    // Rooms left in this batch still have events up to the leave (the bot's own, a kick, …).
    const timelines = new Map<RoomId, JsonObject[]>();
    for (const section of ["leave", "join"]) {
      for (const [id, data] of Object.entries(objectAt(rooms, section) ?? {})) {
        const room = roomIdOf(id);
        if (room === undefined || !isObject(data)) continue;
        timelines.set(room, [...(timelines.get(room) ?? []), data]);
      }
    }
    // Every room runs to its end even when another fails, so a retry never overlaps a room
    // still being handled; then the first failure fails the batch.
    const results = await Promise.allSettled([...timelines].map(async ([room, parts]) => {
      for (const data of parts) await this.deliverRoom(room, data, since, handler, signal);
    }));
    const failed = results.find((r) => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  }

  private async deliverInvites(invites: JsonObject | undefined, handler: EventHandler): Promise<void> {
    for (const [id, data] of Object.entries(invites ?? {})) {
      const room = roomIdOf(id);
      const event = room === undefined ? undefined : parseInvite(room, data, this.options.botUser, new Date());
      if (event !== undefined) await this.handle(handler, event);
    }
  }

  private async deliverRoom(room: RoomId, data: JsonObject, since: string, handler: EventHandler, signal: AbortSignal | undefined): Promise<void> {
    const timeline = objectAt(data, "timeline");
    let raw = arrayAt(timeline, "events");
    if (timeline?.["limited"] === true) {
      const prevBatch = stringAt(timeline, "prev_batch");
      if (prevBatch === undefined) {
        this.options.logger.warn("a room's timeline has a gap but no prev_batch: missed events are not delivered", { room });
      } else {
        try {
          const missed = await this.backfill(room, prevBatch, since, signal);
          this.options.logger.info("filled a gap in a room's timeline", { room, events: missed.length });
          raw = [...missed, ...raw];
        } catch (error) {
          if (!(error instanceof MatrixRequestError)) throw error;
          this.options.logger.error("filling a room's gap failed: missed events are not delivered", { room, error: error.message });
        }
      }
    }
    const seen = new Set<string>();
    for (const item of raw) {
      const id = isObject(item) ? stringAt(item, "event_id") : undefined;
      if (id !== undefined) {
        if (seen.has(id)) continue;
        seen.add(id);
      }
      const event = parseTimelineEvent(room, item);
      if (event !== undefined) await this.handle(handler, event);
    }
  }

  /** The events between `since` and `from` (a gap), oldest first, at most backfillPages pages. */
  private async backfill(room: RoomId, from: string, since: string, signal: AbortSignal | undefined): Promise<unknown[]> {
    const pages: (readonly unknown[])[] = [];
    let token = from;
    for (let page = 0; page < this.backfillPages; page++) {
      const response = await this.options.api.requestObject(Method.Get, path`/rooms/${room}/messages`, {
        query: { dir: "b", from: token, to: since, limit: String(this.timelineLimit), filter: JSON.stringify({ lazy_load_members: true, not_senders: [this.options.botUser] }) },
        ...(signal === undefined ? {} : { signal }),
      });
      const chunk = arrayAt(response, "chunk");
      pages.push(chunk);
      const end = stringAt(response, "end");
      if (chunk.length === 0 || end === undefined || end === token) return pages.flat().reverse();
      token = end;
    }
    this.options.logger.warn("a room's gap is larger than the backfill limit: older missed events are not delivered", {
      room,
      limit: this.backfillPages * this.timelineLimit,
    });
    return pages.flat().reverse();
  }

  private async handle(handler: EventHandler, event: IncomingEvent): Promise<void> {
    try {
      await handler(event);
    } catch (error) {
      this.options.logger.warn("handling an event failed", { event: event.eventId, type: event.type, room: event.room, error: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  }
}

function roomIdOf(id: string): RoomId | undefined {
  try {
    return parseRoomId(id);
  } catch {
    return undefined;
  }
}
