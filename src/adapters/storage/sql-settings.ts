import type { Clock } from "../../core/ports.ts";
import type { KeyValueStore, OptionStore, SyncState } from "../../core/ports/storage.ts";
import { text } from "./sql.ts";
import type { Row, SqlExecutor } from "./sql.ts";

// State the bot keeps between runs: runtime options, namespaced values, the sync position.

/** The `sync_state` row that holds the Matrix sync token. */
const TOKEN_NAME = "token";
/**
 * The `sync_state` row that holds when the token was saved, as epoch milliseconds in text.
 * Absent in a database last written by a version that did not record it.
 */
const SAVED_AT_NAME = "token_saved_at";

/** Runtime options in SQL; `updated_at` says when an operator last changed each. */
export class SqlOptionStore implements OptionStore {
  readonly #db: SqlExecutor;
  readonly #clock: Clock;

  constructor(db: SqlExecutor, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  async all(): Promise<ReadonlyMap<string, string>> {
    return keyValues(await this.#db.all("SELECT key, value FROM options ORDER BY key"));
  }

  async set(key: string, value: string): Promise<void> {
    await this.#db.run(
      `INSERT INTO options (key, value, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      [key, value, this.#clock.now().getTime()],
    );
  }

  async delete(key: string): Promise<void> {
    await this.#db.run("DELETE FROM options WHERE key = ?", [key]);
  }
}

/** Namespaced key-value areas in SQL. */
export class SqlKeyValueStore implements KeyValueStore {
  readonly #db: SqlExecutor;

  constructor(db: SqlExecutor) {
    this.#db = db;
  }

  async get(namespace: string, key: string): Promise<string | undefined> {
    const row = await this.#db.get("SELECT value FROM kv WHERE namespace = ? AND key = ?", [namespace, key]);
    return row === undefined ? undefined : text(row, "value");
  }

  async set(namespace: string, key: string, value: string): Promise<void> {
    await this.#db.run(
      "INSERT INTO kv (namespace, key, value) VALUES (?, ?, ?) ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value",
      [namespace, key, value],
    );
  }

  async delete(namespace: string, key: string): Promise<void> {
    await this.#db.run("DELETE FROM kv WHERE namespace = ? AND key = ?", [namespace, key]);
  }

  async list(namespace: string): Promise<ReadonlyMap<string, string>> {
    return keyValues(await this.#db.all("SELECT key, value FROM kv WHERE namespace = ? ORDER BY key", [namespace]));
  }
}

/** The Matrix sync token, and when it was saved, in SQL. */
export class SqlSyncState implements SyncState {
  readonly #db: SqlExecutor;
  readonly #clock: Clock;

  constructor(db: SqlExecutor, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  getToken(): Promise<string | undefined> {
    return this.#value(TOKEN_NAME);
  }

  async setToken(token: string, at: Date = this.#clock.now()): Promise<void> {
    // One statement writes both rows, so the token and its moment never disagree, in a
    // transaction or not.
    await this.#db.run(
      "INSERT INTO sync_state (name, value) VALUES (?, ?), (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
      [TOKEN_NAME, token, SAVED_AT_NAME, String(at.getTime())],
    );
  }

  async savedAt(): Promise<Date | undefined> {
    const value = await this.#value(SAVED_AT_NAME);
    if (value === undefined) return undefined;
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new Error(`sync_state ${SAVED_AT_NAME}: expected epoch milliseconds, got ${JSON.stringify(value)}`);
    }
    return new Date(Number(value));
  }

  async #value(name: string): Promise<string | undefined> {
    const row = await this.#db.get("SELECT value FROM sync_state WHERE name = ?", [name]);
    return row === undefined ? undefined : text(row, "value");
  }
}

function keyValues(rows: readonly Row[]): ReadonlyMap<string, string> {
  return new Map(rows.map((r) => [text(r, "key"), text(r, "value")]));
}
