// The crypto machine's IndexedDB, kept in our database: restored on start from the snapshot and
// the journal, and saved on demand (what committed since the last save, in one append). Callers
// save before any request leaves the process, so the homeserver never knows of a key we forgot.
import type { Logger } from "../../core/ports.ts";
import type { CryptoStateStore } from "../../core/ports/storage.ts";
import { messageOf } from "../../core/errors.ts";
import { EntrySeal } from "./entry-seal.ts";
import type { JournalEntry } from "./idb-entry.ts";
import { IdbRecorder } from "./idb-recorder.ts";
import { replay, snapshot } from "./idb-replay.ts";

export interface CryptoPersistenceOptions {
  readonly store: CryptoStateStore;
  readonly secret: string | undefined;
  readonly logger: Logger;
  /** Compacts once the journal holds this many characters, default 2,000,000. */
  readonly compactChars?: number;
}

/** Saving as /_health and /metrics see it. */
export interface CryptoPersistenceHealth {
  readonly ok: boolean;
  readonly detail?: string;
  readonly savedEntries: number;
  readonly journalChars: number;
}

export class CryptoPersistence {
  readonly recorder = new IdbRecorder();
  private readonly seal: EntrySeal;
  private saving: Promise<unknown> = Promise.resolve();
  private lastId = 0;
  private journalChars = 0;
  private savedEntries = 0;
  private failure: string | undefined;
  /** Taken but not yet saved (a failed save keeps them for the next). */
  private unsaved: JournalEntry[] = [];

  constructor(private readonly options: CryptoPersistenceOptions) {
    this.seal = new EntrySeal(options.secret);
  }

  /** Rebuilds the databases from what was saved; returns whether anything was. */
  async restore(): Promise<boolean> {
    const { snapshot: parts, journal } = await this.options.store.saved();
    const entries = [...parts.map((p) => this.seal.open(p)), ...journal.map((j) => this.seal.open(j.entry))];
    await replay(this.recorder.raw, entries);
    this.lastId = journal.at(-1)?.id ?? 0;
    this.journalChars = journal.reduce((sum, j) => sum + j.entry.length, 0);
    if (!this.seal.sealing && entries.length === 0) {
      this.options.logger.warn("the encryption state is saved unsealed: set HONOROIT_DATA_SECRET so a copy of the database alone cannot read encrypted messages");
    }
    return entries.length > 0;
  }

  /**
   * Saves what the crypto machine committed since the last save, in one append. Waits for its
   * transactions in flight first. Rejects when the database cannot take it (kept for the next try).
   */
  save(): Promise<void> {
    const run = this.saving.then(() => this.saveNow());
    this.saving = run.catch(() => undefined);
    return run;
  }

  health(): CryptoPersistenceHealth {
    return {
      ok: this.failure === undefined,
      ...(this.failure === undefined ? {} : { detail: `the encryption state cannot be saved: ${this.failure}` }),
      savedEntries: this.savedEntries,
      journalChars: this.journalChars,
    };
  }

  private async saveNow(): Promise<void> {
    await this.recorder.idle();
    this.unsaved.push(...this.recorder.take());
    if (this.unsaved.length > 0) {
      const sealed = this.unsaved.map((e) => this.seal.seal(e));
      try {
        this.lastId = await this.options.store.append(sealed);
        this.failure = undefined;
      } catch (error) {
        this.failure = messageOf(error);
        throw error;
      }
      this.savedEntries += sealed.length;
      this.journalChars += sealed.reduce((sum, s) => sum + s.length, 0);
      this.unsaved = [];
    }
    if (this.journalChars >= (this.options.compactChars ?? 2_000_000)) await this.compact();
  }

  /**
   * Replaces the journal with a snapshot of the whole state. Entries committed meanwhile are
   * saved after it and replayed on top: puts, deletes and clears in order give the same state.
   */
  private async compact(): Promise<void> {
    const started = performance.now();
    const parts = (await snapshot(this.recorder.raw)).map((e) => this.seal.seal(e));
    await this.options.store.compact(parts, this.lastId);
    const chars = parts.reduce((sum, p) => sum + p.length, 0);
    this.options.logger.info("compacted the saved encryption state", { journalChars: this.journalChars, snapshotChars: chars, ms: Math.round(performance.now() - started) });
    this.journalChars = 0;
  }
}
