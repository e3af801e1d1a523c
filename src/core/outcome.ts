import type { Store, StoreScope } from "./ports.ts";

/** One write of an outcome, replayed against whatever transaction commits it. */
export type Write = (tx: StoreScope) => Promise<unknown>;

/**
 * The database writes that complete one piece of work (handling an event, closing a ticket),
 * collected while its Matrix side effects happen and committed together at the end. A crash
 * before the commit leaves no half-recorded state: the work is redone, and its sends are
 * idempotent, so nothing is lost or doubled. Writes must be safe to run again (the store may
 * retry a transaction after a conflict).
 */
export class Outcome {
  private readonly writes: Write[] = [];
  private readonly afterCommit: (() => void)[] = [];

  /** Adds a write to the commit. */
  write(write: Write): void {
    this.writes.push(write);
  }

  /** Runs `fn` once the commit succeeded (metrics, logs). */
  onCommit(fn: () => void): void {
    this.afterCommit.push(fn);
  }

  /** Commits every write (and `also`, e.g. the event's handled mark) in one transaction. */
  async commit(store: Pick<Store, "transaction">, also?: Write): Promise<void> {
    await store.transaction(async (tx) => {
      for (const write of this.writes) await write(tx);
      if (also !== undefined) await also(tx);
    });
    for (const fn of this.afterCommit.splice(0)) fn();
    this.writes.length = 0;
  }
}
