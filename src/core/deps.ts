import type { EventId, RoomId, UserId } from "./ids.ts";
import { failureCause, HonoroitError, messageOf, RefusedError, type FailureCause } from "./errors.ts";
import { neutraliseRoomMention } from "./format.ts";
import type { KeyedQueue } from "./keyed-queue.ts";
import { LruCache } from "./lru.ts";
import type { OutgoingMessage } from "./events.ts";
import type { Clock, EventInbox, Logger, Messenger, Metrics, Profile, Store } from "./ports.ts";
import type { RuntimeOptions } from "./runtime-options.ts";

/** Everything the helpdesk use cases need, built once by the composition root. */
export interface HelpdeskDeps {
  readonly store: Store;
  readonly messenger: Messenger;
  readonly options: RuntimeOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly operatorsRoom: RoomId;
  /** Command prefix, e.g. `!ho`. */
  readonly prefix: string;
  /** Warn customers whose encrypted messages the bot cannot read. */
  readonly encryptionWarning: boolean;
  readonly profiles: ProfileCache;
  /**
   * Who hears about what happens to tickets (e.g. `redmine`): each ticket event becomes a
   * durable job per subscriber, queued in the transaction of its cause. None by default.
   */
  readonly subscribers: readonly string[];
  /** One queue per room: work on a customer room (its messages, closing its ticket) runs in order. */
  readonly rooms: KeyedQueue;
  /** The events received and not yet handled (the sync pipeline in serve). */
  readonly inbox: EventInbox;
}

/**
 * A name as people see it in titles and notices: one line, no `@room` ping (customers choose
 * their display names), the user id when there is none.
 */
export function displayName(name: string | undefined, user: UserId): string {
  const clean = neutraliseRoomMention((name ?? "").replace(/\s+/g, " ").trim());
  return clean === "" ? user : clean;
}

/** Profiles looked up for relayed messages, cached so a busy chat costs one lookup a while. */
export class ProfileCache {
  private readonly cache: LruCache<UserId, Profile>;

  constructor(
    private readonly messenger: Pick<Messenger, "profile">,
    capacity: number,
    ttlMs = 5 * 60_000,
  ) {
    this.cache = new LruCache(capacity, ttlMs);
  }

  async get(user: UserId): Promise<Profile> {
    const hit = this.cache.get(user);
    if (hit !== undefined) return hit;
    let profile: Profile;
    try {
      profile = await this.messenger.profile(user);
    } catch (error) {
      // A homeserver that is down must not leave a title with a bare id for minutes: wait.
      if (failureCause(error) !== "final") throw error;
      return {};
    }
    this.cache.set(user, profile);
    return profile;
  }

  /** A person's name for display: their display name, else their user id. */
  async nameOf(user: UserId): Promise<string> {
    return displayName((await this.get(user)).displayname, user);
  }
}

/**
 * Sends a message at most once per key: the key is remembered with the event id, and it is
 * also the transaction id, so even a crash between sending and remembering sends nothing twice.
 */
export function sendOnce(deps: Pick<HelpdeskDeps, "store" | "messenger" | "clock">, room: RoomId, message: OutgoingMessage, key: string): Promise<EventId> {
  return createOnce(deps, key, () => deps.messenger.send(room, message, key));
}

/** Reacts at most once per key, remembered as sendOnce remembers a message. */
export function reactOnce(deps: Pick<HelpdeskDeps, "store" | "messenger" | "clock">, room: RoomId, target: EventId, reaction: string, key: string): Promise<EventId> {
  return createOnce(deps, key, () => deps.messenger.react(room, target, reaction, key));
}

async function createOnce(deps: Pick<HelpdeskDeps, "store" | "clock">, key: string, create: () => Promise<EventId>): Promise<EventId> {
  const known = await deps.store.ledger.get(key);
  if (known !== undefined) return known as EventId;
  const id = await create();
  await deps.store.ledger.put(key, id, deps.clock.now());
  return id;
}

/**
 * Why a failure happened (see FailureCause), knowing one thing the generic rule cannot: a
 * refusal because the bot is not (or no longer) in the operators room is our state, not the
 * fault of the event being handled, so the work waits until the bot is invited back. Any other
 * refusal there (a spam checker, a power level) is about the event.
 */
export function causeOf(deps: Pick<HelpdeskDeps, "operatorsRoom">, error: unknown): FailureCause {
  if (error instanceof RefusedError && error.notInRoom && error.room === deps.operatorsRoom) return "not-ready";
  return failureCause(error);
}

/** The error to throw for work that must wait: a not-ready refusal gets words that say why. */
export function waitingError(deps: Pick<HelpdeskDeps, "operatorsRoom">, error: unknown): unknown {
  if (!(error instanceof RefusedError && error.notInRoom && error.room === deps.operatorsRoom)) return error;
  return new HonoroitError("NOT_READY", `the bot cannot post in the operators room ${deps.operatorsRoom} (${messageOf(error)}); invite it there`, { cause: error });
}
