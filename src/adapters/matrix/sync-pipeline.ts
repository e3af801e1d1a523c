// Our own /sync loop, as a pipeline: the next /sync is in flight while earlier events are
// handled; each room's events are handled in order, rooms independently; the sync position is
// saved only once every event up to it is handled, so a crash replays (the core de-duplicates)
// rather than loses. An event that cannot be handled now waits in its room and is tried again.
import { messageOf } from "../../core/errors.ts";
import { parseRoomId } from "../../core/ids.ts";
import type { RoomId, UserId } from "../../core/ids.ts";
import type { EventInbox, Logger, PipelineMetrics, SyncState } from "../../core/ports.ts";
import { backoff } from "../../core/timing.ts";
import { sleep } from "./api.ts";
import type { MatrixApi } from "./api.ts";
import { BatchTracker } from "./batch-tracker.ts";
import { GapReader } from "./gap.ts";
import { arrayAt, isObject, numberAt, objectAt, stringAt } from "./json.ts";
import type { JsonObject } from "./json.ts";
import { parseInvite } from "./parse.ts";
import { PositionWriter } from "./position-writer.ts";
import { ThreadLanes } from "./thread-lanes.ts";
import { RoomScheduler } from "./room-scheduler.ts";
import { RoomSteps, type EventHandler, type RoomItem, type WaitingRoom } from "./room-steps.ts";
import { FIRST_SYNC_FILTER, SyncRequests, type HomeserverStatus } from "./sync-requests.ts";

export type { EventHandler } from "./room-steps.ts";

/**
 * A stage run on every /sync answer, in order, before its room events are parsed: where
 * end-to-end encryption takes its to-device messages and device lists, and decrypts events.
 */
export interface SyncStage {
  /** true when something arrived (room keys) that may let waiting events be prepared now. */
  beforeRooms(response: JsonObject, signal: AbortSignal | undefined): Promise<boolean>;
  /** The event to parse in place of the one received (e.g. decrypted); called in room order. */
  prepare(room: RoomId, raw: JsonObject): Promise<JsonObject>;
}

/** The pipeline as `/_health` and `/metrics` see it. */
export interface SyncHealth extends HomeserverStatus {
  readonly waiting: readonly WaitingRoom[];
  /** Gaps given up on since start (each was logged as an error). */
  readonly skippedGaps: number;
  readonly queued: number;
  readonly inFlight: number;
}

export interface SyncPipelineOptions {
  readonly api: MatrixApi;
  readonly botUser: UserId;
  readonly state: SyncState;
  readonly logger: Logger;
  readonly metrics?: PipelineMetrics;
  readonly stage?: SyncStage;
  /** Server-side long-poll of one /sync, default 30 s. */
  readonly pollMs?: number;
  /** Timeline events per room and sync, and events per gap page, default 100. */
  readonly timelineLimit?: number;
  /** Events handled at once across rooms while new ones keep arriving, default 8. */
  readonly maxInFlight?: number;
  /** Events handled at once across rooms once they stop arriving (catching up), default 32. */
  readonly catchUpInFlight?: number;
  /** Events received and not yet handled before the next /sync waits, default 10,000. */
  readonly maxQueued?: number;
  /** First wait before an event or gap is tried again, doubling to 30 s; default 1 s. */
  readonly retryBaseMs?: number;
  /**
   * The operators room: its threads are handled side by side, each in order (one request's
   * close does not hold up another's replies); its other events keep their place among them.
   */
  readonly threadedRoom?: RoomId;
  /** Stops the pipeline for good (the connection is closing), in addition to run's own signal. */
  readonly signal?: AbortSignal;
}

/** How fast the count of recent arrivals is forgotten. */
const INFLOW_HALF_LIFE_MS = 1000;
/** Recent arrivals (decayed) from which customers count as still writing: a few a second. */
const LIVE_INFLOW = 5;

/**
 * Runs /sync until stopped: invites and each room's timeline go to that room's queue, gaps
 * are read page by page in their place, and `next_batch` is saved once a batch and all before
 * it are handled. On the very first start only pending invites are delivered.
 */
export class SyncPipeline implements EventInbox {
  private readonly pollMs: number;
  private readonly timelineLimit: number;
  private readonly tracker = new BatchTracker();
  private readonly steps: RoomSteps;
  private scheduler: RoomScheduler<RoomItem> | undefined;
  private running: Promise<void> | undefined;
  private readonly requests: SyncRequests;
  /** Events from others received lately (decaying: halved every INFLOW_HALF_LIFE_MS). */
  private inflow = 0;
  private inflowAt = performance.now();
  private readonly position: PositionWriter;
  private readonly lanes = new ThreadLanes();

  constructor(private readonly options: SyncPipelineOptions) {
    this.pollMs = options.pollMs ?? 30_000;
    this.timelineLimit = options.timelineLimit ?? 100;
    this.position = new PositionWriter(options.state, options.logger);
    this.requests = new SyncRequests(options.api, options.botUser, options.logger, this.pollMs, this.timelineLimit);
    this.steps = new RoomSteps({
      logger: options.logger,
      metrics: options.metrics,
      prepare: (room, raw) => this.options.stage?.prepare(room, raw) ?? Promise.resolve(raw),
      retryBaseMs: options.retryBaseMs ?? 1000,
      retryWaitingNow: () => this.scheduler?.retryWaitingNow(),
    });
  }

  private get liveCap(): number {
    return Math.max(2, this.options.maxInFlight ?? 8);
  }

  /**
   * While customers keep writing, the homeserver is busy serving them: the bot keeps its own
   * load moderate, so everyone's messages move (a quiet customer's relay is not stuck behind
   * the bot's own sends into the operators room). Once they stop, it catches up at full speed.
   */
  private adjustCap(scheduler: RoomScheduler<RoomItem>, arrived: number): void {
    const now = performance.now();
    this.inflow = this.inflow * 2 ** (-(now - this.inflowAt) / INFLOW_HALF_LIFE_MS) + arrived;
    this.inflowAt = now;
    const live = this.inflow >= LIVE_INFLOW;
    scheduler.setCap(live ? this.liveCap : Math.max(this.liveCap, this.options.catchUpInFlight ?? 32));
  }

  health(): SyncHealth {
    return {
      ...this.requests.status,
      waiting: this.steps.waitingRooms,
      skippedGaps: this.steps.skippedGaps,
      queued: this.scheduler?.pending ?? 0,
      inFlight: this.scheduler?.running ?? 0,
    };
  }

  /**
   * Syncs until `signal` fires, then lets the events being handled finish and saves the
   * position they reached. An unreachable homeserver is retried with backoff; a refused /sync
   * (e.g. the token was logged out) rejects.
   */
  async run(handler: EventHandler, signal?: AbortSignal): Promise<void> {
    if (this.running !== undefined) throw new Error("the sync pipeline is already running");
    const controller = new AbortController();
    const stop = (): void => controller.abort();
    for (const s of [this.options.signal, signal]) {
      if (s?.aborted === true) stop();
      s?.addEventListener("abort", stop, { once: true });
    }
    const scheduler = new RoomScheduler<RoomItem>({
      maxInFlight: this.liveCap,
      step: (_key, item) => this.steps.step(item, handler, controller.signal),
      finished: (_room, item) => {
        this.tracker.finish(item.batch);
        this.saveProgress();
      },
    });
    this.scheduler = scheduler;
    this.running = this.fetch(scheduler, controller.signal);
    try {
      await this.running;
    } catch (error) {
      // A request cut short by the stop signal is a stop, not a failure.
      if (!controller.signal.aborted) throw error;
    } finally {
      controller.abort();
      await scheduler.stop();
      this.saveProgress();
      await this.position.flushed();
      for (const s of [this.options.signal, signal]) s?.removeEventListener("abort", stop);
      this.running = undefined;
    }
  }

  /** Resolves once every event of `room` received so far is handled (see EventInbox). */
  settled(room: RoomId): Promise<void> {
    return this.scheduler?.settled(room) ?? Promise.resolve();
  }

  /** Resolves once a running pipeline has stopped (at once when none runs); never rejects. */
  async stopped(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  // --- fetching ------------------------------------------------------------------------------

  private async fetch(scheduler: RoomScheduler<RoomItem>, signal: AbortSignal): Promise<void> {
    let since = await this.options.state.getToken();
    this.position.begin(since, signal);
    if (since === undefined) {
      since = await this.firstSync(scheduler, signal);
      if (since === undefined) return;
    }
    const filter = await this.requests.filter(signal);
    const maxQueued = this.options.maxQueued ?? 10_000;
    while (!signal.aborted) {
      await scheduler.below(maxQueued);
      const response = await this.requests.sync({ since, filter, timeout: String(this.pollMs) }, signal);
      if (response === undefined) return;
      const next = stringAt(response, "next_batch");
      if (next === undefined) throw new Error("the homeserver's /sync answer has no next_batch");
      if (!(await this.runStage(response, signal))) return;
      const batch = this.tracker.open(next);
      this.route(scheduler, response, since, batch);
      this.tracker.seal(batch);
      this.saveProgress();
      this.reportPending();
      since = next;
    }
  }

  /** One quick sync without history: queues pending invites; their batch saves the position. */
  private async firstSync(scheduler: RoomScheduler<RoomItem>, signal: AbortSignal): Promise<string | undefined> {
    const response = await this.requests.sync({ filter: FIRST_SYNC_FILTER, timeout: "0" }, signal);
    if (response === undefined) return undefined;
    const next = stringAt(response, "next_batch");
    if (next === undefined) throw new Error("the homeserver's /sync answer has no next_batch");
    if (!(await this.runStage(response, signal))) return undefined;
    const batch = this.tracker.open(next);
    this.routeInvites(scheduler, objectAt(objectAt(response, "rooms"), "invite"), batch);
    this.tracker.seal(batch);
    this.saveProgress();
    this.options.logger.info("first sync done: from now on every event is relayed", { user: this.options.botUser });
    return next;
  }

  /** The crypto stage, retried until it succeeds (its state must be current before parsing). */
  private async runStage(response: JsonObject, signal: AbortSignal): Promise<boolean> {
    const stage = this.options.stage;
    for (let attempt = 0; stage !== undefined; attempt++) {
      if (signal.aborted) return false;
      try {
        // Waiting rooms are tried again at once rather than after their backoff.
        if (await stage.beforeRooms(response, signal)) this.scheduler?.retryWaitingNow();
        return true;
      } catch (error) {
        const wait = backoff(attempt, 1000, 30_000);
        this.options.logger.warn(`processing a sync's encryption data failed; retrying in ${Math.round(wait / 1000)}s`, { error: messageOf(error) });
        await sleep(wait, signal);
      }
    }
    return !signal.aborted;
  }

  private route(scheduler: RoomScheduler<RoomItem>, response: JsonObject, since: string, batch: number): void {
    const rooms = objectAt(response, "rooms");
    this.routeInvites(scheduler, objectAt(rooms, "invite"), batch);
    const received = performance.now();
    let arrived = 0;
    let newest = 0;
    // Rooms left in this batch still have events up to the leave (the bot's own, a kick, …).
    for (const section of ["leave", "join"] as const) {
      for (const [id, data] of Object.entries(objectAt(rooms, section) ?? {})) {
        const room = roomIdOf(id);
        if (room === undefined || !isObject(data)) continue;
        const timeline = objectAt(data, "timeline");
        const events = arrayAt(timeline, "events").filter(isObject);
        if (timeline?.["limited"] === true) {
          const to = stringAt(timeline, "prev_batch");
          // Without prev_batch, the gap runs from `since` up to the first event we were given
          // (not the bot's own: the gap is read without those).
          const first = events.find((e) => stringAt(e, "sender") !== this.options.botUser);
          const stopAt = to === undefined && first !== undefined ? stringAt(first, "event_id") : undefined;
          const gap = { room, from: since, to, stopAt, left: section === "leave" };
          this.push(scheduler, room, { kind: "gap", room, batch, received, reader: new GapReader(this.options.api, gap, this.options.botUser, this.timelineLimit), attempts: 0 });
        }
        for (const raw of events) {
          // The bot's own events (its relays, most of a busy operators room) need no handling.
          if (stringAt(raw, "sender") === this.options.botUser) continue;
          newest = Math.max(newest, numberAt(raw, "origin_server_ts") ?? 0);
          this.push(scheduler, room, { kind: "event", room, batch, received, source: { raw }, attempts: 0 }, room === this.options.threadedRoom ? this.lanes.laneOf(raw) : undefined);
          arrived += 1;
        }
      }
    }
    this.adjustCap(scheduler, arrived);
    if (newest > 0) this.options.metrics?.syncLag(Math.max(0, Date.now() - newest) / 1000);
  }

  private routeInvites(scheduler: RoomScheduler<RoomItem>, invites: JsonObject | undefined, batch: number): void {
    const received = performance.now();
    for (const [id, data] of Object.entries(invites ?? {})) {
      const room = roomIdOf(id);
      const invite = room === undefined ? undefined : parseInvite(room, data, this.options.botUser, new Date());
      // Apart from the room's timeline: an invite back into the operators room must not wait
      // behind an event that waits for the bot to be back in it.
      if (room !== undefined && invite !== undefined) this.push(scheduler, `invite ${room}`, { kind: "event", room, batch, received, source: { parsed: invite }, attempts: 0 });
    }
  }

  private push(scheduler: RoomScheduler<RoomItem>, key: string, item: RoomItem, lane?: string): void {
    this.tracker.add(item.batch);
    scheduler.push(key, item, lane);
  }

  // --- the position ----------------------------------------------------------------------------

  /** Saves the newest fully handled position (see PositionWriter). */
  private saveProgress(): void {
    this.reportPending();
    this.position.write(this.tracker.takeDone());
  }

  private reportPending(): void {
    const scheduler = this.scheduler;
    if (scheduler !== undefined) this.options.metrics?.eventsPending(scheduler.pending - scheduler.running, scheduler.running);
  }
}

function roomIdOf(id: string): RoomId | undefined {
  try {
    return parseRoomId(id);
  } catch {
    return undefined;
  }
}
