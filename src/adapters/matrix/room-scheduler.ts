/** What one step of work on a room's head item came to. */
export type StepResult =
  /** The item is finished: the next one of the room may start. */
  | { readonly kind: "done" }
  /** The item made progress and has more to do (e.g. a gap with pages left). */
  | { readonly kind: "more" }
  /** The item could not go on now: the room waits this long, then the same item is tried again. */
  | { readonly kind: "wait"; readonly ms: number };

export interface RoomSchedulerOptions<T> {
  /** Steps running at once, across all rooms (see `setCap`). */
  readonly maxInFlight: number;
  /** How fast a room's recent service is forgotten: it halves every this many ms (default 10 s). */
  readonly halfLifeMs?: number;
  /** One step of work on the room's head item; must not throw (a throw counts as done). */
  readonly step: (room: string, item: T) => Promise<StepResult>;
  /** Called once an item is finished (its step said done, or threw). */
  readonly finished: (room: string, item: T) => void;
}

interface RoomQueue<T> {
  /** The room; a lane's queue shares it with the room's main queue and its other lanes. */
  readonly room: string;
  readonly lane: boolean;
  /** Each item with its place in the room's order (across the room's lanes). */
  readonly items: { readonly item: T; readonly seq: number }[];
  /** Items ever pushed and finished, and who waits for the finished count to reach a mark. */
  pushed: number;
  finished: number;
  readonly settledWaiters: { readonly mark: number; readonly resolve: () => void }[];
  /** Steps served to the queue lately (decaying): the ready queue with the least goes first. */
  load: number;
  /** When `load` was last brought up to date. */
  loadAt: number;
  running: boolean;
  /** Set while the queue waits before trying its head item again. */
  timer: NodeJS.Timeout | undefined;
  /** Its head item must let an earlier one of another lane of the room finish first. */
  blocked: boolean;
}

/** A room's queues: the main one and its lanes, and how many items the room has had. */
interface RoomGroup {
  readonly queues: Set<string>;
  seq: number;
}

/** Quiet rooms may run this many steps beyond the cap. */
const QUIET_EXTRA = 4;

/**
 * A queue with nothing behind its head is quiet: a customer writing now and then, an operator's
 * reply. Not how little it was served lately: while the bot falls behind a flood, each flooding
 * room is served so rarely that by that measure it would look quiet too.
 */
const isQuiet = (queue: { readonly items: readonly unknown[] }): boolean => queue.items.length <= 1;

/**
 * Per-room queues: each room's items run one at a time, in order; rooms run independently,
 * at most `maxInFlight` steps at once. A free slot goes first to a quiet room (one with nothing
 * queued behind its head), so a quiet customer's message goes ahead of rooms that are flooding;
 * among the rest, to the ready room that has been served least lately (each step adds one to a
 * room's load, which halves every `halfLifeMs`), so flooding rooms take turns. A room that must
 * wait gives its slot back.
 *
 * A room may also have lanes (the operators room: one per thread). A lane's items run in
 * order, beside the room's other lanes; an item pushed without a lane waits for every earlier
 * item of the room's lanes, and later lane items wait for it, so it keeps its place in the
 * room's order.
 */
export class RoomScheduler<T> {
  private readonly rooms = new Map<string, RoomQueue<T>>();
  private readonly groups = new Map<string, RoomGroup>();
  private readonly ready = new Set<string>();
  private inFlight = 0;
  /** Slots lent by those waiting in `settled`. */
  private lent = 0;
  private queued = 0;
  private pushes = 0;
  private stopped = false;
  private pumpQueued = false;
  private drainWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];

  private cap: number;

  constructor(private readonly options: RoomSchedulerOptions<T>) {
    this.cap = options.maxInFlight;
  }

  /** Changes how many steps may run at once (at least 2); running steps are not stopped. */
  setCap(cap: number): void {
    const next = Math.max(2, Math.floor(cap));
    if (next === this.cap) return;
    this.cap = next;
    this.pump();
  }

  /** Items queued and not finished (running ones included). */
  get pending(): number {
    return this.queued;
  }

  get running(): number {
    return this.inFlight;
  }

  /** Queues `item` in `room`, or in one of its lanes (see the class comment). */
  push(room: string, item: T, lane?: string): void {
    if (this.stopped) return;
    if (++this.pushes % 1000 === 0) this.forgetIdleRooms();
    const key = lane === undefined ? room : `${room}\n${lane}`;
    let group = this.groups.get(room);
    if (group === undefined) {
      group = { queues: new Set(), seq: 0 };
      this.groups.set(room, group);
    }
    let queue = this.rooms.get(key);
    if (queue === undefined) {
      queue = { room, lane: lane !== undefined, items: [], pushed: 0, finished: 0, settledWaiters: [], load: 0, loadAt: performance.now(), running: false, timer: undefined, blocked: false };
      this.rooms.set(key, queue);
      group.queues.add(key);
    }
    if (queue.items.length === 0 && !queue.running && queue.timer === undefined) this.ready.add(key);
    queue.items.push({ item, seq: group.seq++ });
    queue.pushed += 1;
    this.queued += 1;
    // Once the caller's pushes are all in (a /sync answer's events are pushed in one go): a
    // flooding room's first event must not look quiet because the rest are not queued yet.
    if (!this.pumpQueued) {
      this.pumpQueued = true;
      queueMicrotask(() => {
        this.pumpQueued = false;
        this.pump();
      });
    }
  }

  /**
   * Resolves once every item pushed for `room` (and its lanes) so far is finished (or dropped
   * by stop). Whoever waits lends a slot meanwhile: a step that waits for another room (a
   * close, for the customer room) cannot hold up the items it waits for, however many wait.
   */
  async settled(room: string): Promise<void> {
    const keys = [...(this.groups.get(room)?.queues ?? [])];
    const waits = keys.map((key) => this.queueSettled(key)).filter((w) => w !== undefined);
    if (waits.length === 0) return;
    this.lent += 1;
    this.pump();
    try {
      await Promise.all(waits);
    } finally {
      this.lent -= 1;
    }
  }

  private queueSettled(key: string): Promise<void> | undefined {
    const queue = this.rooms.get(key);
    if (queue === undefined || this.stopped || queue.finished >= queue.pushed) return undefined;
    const mark = queue.pushed;
    return new Promise((resolve) => queue.settledWaiters.push({ mark, resolve }));
  }

  /** Resolves once fewer than `limit` items are pending (backpressure for whoever pushes). */
  async below(limit: number): Promise<void> {
    while (this.queued >= limit && !this.stopped) {
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    }
  }

  /** Stops starting steps; resolves when the running ones have ended. Queued items are dropped. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const queue of this.rooms.values()) {
      if (queue.timer !== undefined) clearTimeout(queue.timer);
      for (const waiter of queue.settledWaiters.splice(0)) waiter.resolve();
    }
    this.ready.clear();
    this.wake(this.drainWaiters);
    while (this.inFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Tries every waiting room again now (e.g. the cause of their wait may be gone). */
  retryWaitingNow(): void {
    for (const [room, queue] of this.rooms) {
      if (queue.timer === undefined) continue;
      clearTimeout(queue.timer);
      queue.timer = undefined;
      this.ready.add(room);
    }
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.ready.size > 0) {
      const room = this.pick();
      const queue = this.rooms.get(room);
      // Past the cap, only a quiet room may start (a quiet customer's message, not another turn
      // of a flood), up to a few more at once.
      const quiet = queue !== undefined && isQuiet(queue);
      const cap = this.cap + this.lent;
      if (this.inFlight >= cap && !(quiet && this.inFlight < cap + QUIET_EXTRA)) return;
      this.ready.delete(room);
      const head = queue?.items[0];
      if (queue === undefined || head === undefined) continue;
      if (this.mustWaitForLanes(queue, head.seq)) {
        queue.blocked = true;
        continue;
      }
      queue.running = true;
      this.inFlight += 1;
      void this.run(room, queue, head.item);
    }
  }

  /** A lane's head waits for an earlier item of the main queue; the main queue's for earlier lane items. */
  private mustWaitForLanes(queue: RoomQueue<T>, seq: number): boolean {
    const group = this.groups.get(queue.room);
    if (group === undefined || group.queues.size < 2) return false;
    for (const key of group.queues) {
      const other = this.rooms.get(key);
      if (other === undefined || other === queue || other.lane === queue.lane) continue;
      const first = other.items[0];
      if (first !== undefined && first.seq < seq) return true;
    }
    return false;
  }

  /** After an item of a room with lanes finished: its blocked queues may go now. */
  private unblock(room: string): void {
    for (const key of this.groups.get(room)?.queues ?? []) {
      const queue = this.rooms.get(key);
      if (queue === undefined || !queue.blocked) continue;
      queue.blocked = false;
      if (queue.items.length > 0 && !queue.running && queue.timer === undefined) this.ready.add(key);
    }
  }

  /** A quiet room first, then the one served least lately; ties to the one ready first. */
  private pick(): string {
    const now = performance.now();
    let best: string | undefined;
    let bestQuiet = false;
    let bestLoad = Number.POSITIVE_INFINITY;
    // The Set keeps insertion order, so on a tie the room that became ready first wins.
    for (const room of this.ready) {
      const queue = this.rooms.get(room);
      const quiet = queue === undefined || isQuiet(queue);
      const load = queue === undefined ? 0 : this.decay(queue, now);
      if (best === undefined || (quiet && !bestQuiet) || (quiet === bestQuiet && load < bestLoad)) {
        best = room;
        bestQuiet = quiet;
        bestLoad = load;
      }
    }
    return best ?? "";
  }

  /** Idle rooms are kept while their load matters, so a flood that pauses is still known. */
  private forgetIdleRooms(): void {
    const now = performance.now();
    for (const [room, queue] of this.rooms) {
      const idle = queue.items.length === 0 && !queue.running && queue.timer === undefined && queue.settledWaiters.length === 0;
      if (idle && this.decay(queue, now) < 0.01) {
        this.rooms.delete(room);
        const group = this.groups.get(queue.room);
        group?.queues.delete(room);
        if (group?.queues.size === 0) this.groups.delete(queue.room);
      }
    }
  }

  /** Brings a room's load up to `now` and returns it. */
  private decay(queue: RoomQueue<T>, now: number): number {
    queue.load *= 2 ** (-(now - queue.loadAt) / (this.options.halfLifeMs ?? 10_000));
    queue.loadAt = now;
    return queue.load;
  }

  private async run(room: string, queue: RoomQueue<T>, item: T): Promise<void> {
    let result: StepResult;
    try {
      result = await this.options.step(queue.room, item);
    } catch {
      result = { kind: "done" };
    }
    queue.running = false;
    this.inFlight -= 1;
    this.decay(queue, performance.now());
    queue.load += 1;
    if (result.kind === "done") {
      queue.items.shift();
      this.queued -= 1;
      queue.finished += 1;
      this.options.finished(queue.room, item);
      this.unblock(queue.room);
      this.wake(this.drainWaiters);
      const reached = queue.settledWaiters.filter((w) => w.mark <= queue.finished);
      for (const waiter of reached) {
        queue.settledWaiters.splice(queue.settledWaiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
    if (this.stopped) {
      if (this.inFlight === 0) this.wake(this.idleWaiters);
      return;
    }
    if (result.kind === "wait") {
      queue.timer = setTimeout(() => {
        queue.timer = undefined;
        if (this.stopped) return;
        this.ready.add(room);
        this.pump();
      }, result.ms);
    } else if (queue.items.length > 0) {
      this.ready.add(room);
    }
    this.pump();
  }

  private wake(waiters: (() => void)[]): void {
    for (const resolve of waiters.splice(0)) resolve();
  }
}
