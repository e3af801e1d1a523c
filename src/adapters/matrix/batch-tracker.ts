/**
 * Which /sync batches are fully handled. Items of a batch are handled out of order (rooms run
 * independently), but the sync position may only move to a batch's `next_batch` once that
 * batch and every earlier one are fully handled: after a crash, the bot syncs again from there
 * and nothing after it is skipped.
 */
export class BatchTracker {
  private readonly batches: { readonly seq: number; readonly token: string; pending: number; sealed: boolean }[] = [];
  private nextSeq = 0;
  private done: string | undefined;

  /** Starts a batch whose position is `token`; add its items, then seal it. */
  open(token: string): number {
    const seq = this.nextSeq++;
    this.batches.push({ seq, token, pending: 0, sealed: false });
    return seq;
  }

  add(seq: number): void {
    const batch = this.find(seq);
    if (batch !== undefined) batch.pending += 1;
  }

  /** No more items will be added to the batch. */
  seal(seq: number): void {
    const batch = this.find(seq);
    if (batch !== undefined) batch.sealed = true;
    this.advance();
  }

  /** One item of the batch is handled. */
  finish(seq: number): void {
    const batch = this.find(seq);
    if (batch !== undefined) batch.pending -= 1;
    this.advance();
  }

  /** The position up to which everything is handled, if it moved since it was last taken. */
  takeDone(): string | undefined {
    const token = this.done;
    this.done = undefined;
    return token;
  }

  private find(seq: number): { seq: number; token: string; pending: number; sealed: boolean } | undefined {
    return this.batches.find((b) => b.seq === seq);
  }

  private advance(): void {
    for (;;) {
      const head = this.batches[0];
      if (head === undefined || !head.sealed || head.pending > 0) return;
      this.done = head.token;
      this.batches.shift();
    }
  }
}
