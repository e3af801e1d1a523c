// A bare /sync long-poll watching one room, for latency under load: unlike a matrix-js-sdk
// client, the time it takes to notice an event does not grow with how busy the room is (a
// client spends its own CPU on every event of a flooded room), so a relay watched in the
// flooded operators room and a one-hop message watched in a quiet room are timed alike.
import type { SynapseEnv } from "../test/support/synapse.ts";
import type { Account } from "../test/support/matrix-http.ts";

interface Waiter {
  readonly match: (body: string) => boolean;
  readonly resolve: (seen: Seen) => void;
}

/** When a watched message arrived here, and its server timestamp (both in ms since the epoch). */
export interface Seen {
  /** performance.now() on arrival. */
  readonly at: number;
  /** Date.now() on arrival, comparable with `serverTs` (the homeserver runs on this machine). */
  readonly wallAt: number;
  readonly serverTs: number;
}

interface SyncAnswer {
  readonly next_batch?: string;
  readonly rooms?: { readonly join?: Record<string, { readonly timeline?: { readonly events?: readonly { readonly origin_server_ts?: number; readonly content?: { readonly body?: unknown } }[] } }> };
}

/** Watches one room as one account; `arrival` resolves when a matching message is received. */
export class RoomWatcher {
  private readonly waiters = new Set<Waiter>();
  private readonly controller = new AbortController();
  private running: Promise<void> | undefined;

  constructor(
    private readonly hs: SynapseEnv,
    private readonly account: Account,
    private readonly room: string,
  ) {}

  /** Starts from "now": only events after this call are seen. */
  async start(): Promise<void> {
    const filter = JSON.stringify({
      presence: { types: [] },
      account_data: { types: [] },
      room: { rooms: [this.room], timeline: { limit: 1000 }, state: { types: [] }, ephemeral: { types: [] }, account_data: { types: [] } },
    });
    const first = await this.sync(`filter=${encodeURIComponent(JSON.stringify({ room: { rooms: [this.room], timeline: { limit: 0 } } }))}&timeout=0`);
    let since = first.next_batch ?? "";
    this.running = (async () => {
      while (!this.stopped()) {
        let answer: SyncAnswer;
        try {
          answer = await this.sync(`filter=${encodeURIComponent(filter)}&timeout=30000&since=${encodeURIComponent(since)}`);
        } catch {
          if (this.stopped()) return;
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        const at = performance.now();
        const wallAt = Date.now();
        since = answer.next_batch ?? since;
        for (const event of answer.rooms?.join?.[this.room]?.timeline?.events ?? []) {
          const body = typeof event.content?.body === "string" ? event.content.body : "";
          for (const waiter of this.waiters) {
            if (!waiter.match(body)) continue;
            this.waiters.delete(waiter);
            waiter.resolve({ at, wallAt, serverTs: event.origin_server_ts ?? wallAt });
          }
        }
      }
    })();
  }

  /** performance.now() when a message whose body matches arrives (rejects after `timeoutMs`). */
  async arrival(match: (body: string) => boolean, timeoutMs = 60_000): Promise<number> {
    return (await this.seen(match, timeoutMs)).at;
  }

  /** When a message whose body matches arrives, and its server timestamp. */
  seen(match: (body: string) => boolean, timeoutMs = 60_000): Promise<Seen> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.account.userId} saw no matching message in ${this.room} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        match,
        resolve: (seen) => {
          clearTimeout(timer);
          resolve(seen);
        },
      };
      this.waiters.add(waiter);
    });
  }

  private stopped(): boolean {
    return this.controller.signal.aborted;
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.running?.catch(() => undefined);
  }

  private async sync(query: string): Promise<SyncAnswer> {
    const res = await fetch(`${this.hs.url}/_matrix/client/v3/sync?${query}`, {
      headers: { authorization: `Bearer ${this.account.accessToken}` },
      signal: this.controller.signal,
    });
    if (!res.ok) throw new Error(`/sync as ${this.account.userId}: HTTP ${res.status}`);
    return (await res.json()) as SyncAnswer;
  }
}
