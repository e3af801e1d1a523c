// Saves the sync position the pipeline has fully handled: one save at a time, newest wins, a
// failed save retried for a while (not saving only means replaying more after a crash).
import { messageOf } from "../../core/errors.ts";
import type { Logger, SyncState } from "../../core/ports.ts";
import { backoff } from "../../core/timing.ts";
import { sleep } from "./api.ts";

export class PositionWriter {
  private saving: Promise<void> = Promise.resolve();
  private lastSaved: string | undefined;
  /** Aborted while stopping: retries of a failed save end. */
  private stopping: AbortSignal = new AbortController().signal;

  constructor(
    private readonly state: SyncState,
    private readonly logger: Logger,
  ) {}

  /** A run starts from `saved` (the position read at start); `stopping` ends retries. */
  begin(saved: string | undefined, stopping: AbortSignal): void {
    this.lastSaved = saved;
    this.stopping = stopping;
  }

  /** Saves `token` after the saves before it; nothing when it is what was saved last. */
  write(token: string | undefined): void {
    // An idle long-poll often ends where it began: nothing new to save.
    if (token === undefined || token === this.lastSaved) return;
    this.lastSaved = token;
    this.saving = this.saving.then(() => this.save(token));
  }

  /** Resolves once the saves asked for so far have ended. */
  flushed(): Promise<void> {
    return this.saving;
  }

  private async save(token: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.state.setToken(token);
        return;
      } catch (error) {
        // Not at all past a stop: the next start replays from the last position saved.
        if (attempt === 0) this.logger.warn("could not save the sync position; retrying", { error: messageOf(error) });
        if (this.stopping.aborted || attempt >= 20) return;
        await sleep(backoff(attempt, 500, 10_000), this.stopping);
      }
    }
  }
}
