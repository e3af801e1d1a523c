import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import Database from "better-sqlite3";
import { HonoroitError } from "../../core/errors.ts";
import { assertOpen, TransactionContext } from "./sql.ts";
import type { Row, SqlDatabase, SqlExecutor, SqlValue, TransactionState } from "./sql.ts";

export interface SqliteOptions {
  /** How long a write waits for another process holding the write lock (ms); 5000 by default. */
  readonly busyTimeoutMs?: number;
}

/**
 * One SQLite file through better-sqlite3. The driver is synchronous and a transaction's work
 * is not, so one async mutex orders transactions and the statements issued between them: a
 * statement must not run while another caller's transaction is open on this connection, or it
 * would silently become part of it. A lock held by another connection is waited for up to the
 * busy timeout, asynchronously (SQLite's own busy handler would block the event loop, freezing
 * `serve` while the CLI holds a lock), then reported as BUSY.
 */
export class SqliteDatabase implements SqlDatabase {
  readonly dialect = "sqlite";
  readonly #db: Database.Database;
  readonly #file: string;
  readonly #busyTimeoutMs: number;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #mutex = new AsyncMutex();
  readonly #context = new TransactionContext();
  #closed = false;

  private constructor(db: Database.Database, file: string, busyTimeoutMs: number) {
    this.#db = db;
    this.#file = file;
    this.#busyTimeoutMs = busyTimeoutMs;
  }

  /**
   * Opens the database file, creating it and its folder if missing; `:memory:` (or "") gives a
   * private in-memory database. Throws UNREACHABLE, naming the path, when it cannot.
   */
  static open(file: string, options: SqliteOptions = {}): SqliteDatabase {
    const onDisk = file !== ":memory:" && file !== "";
    const busyTimeoutMs = Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000));
    let db: Database.Database;
    try {
      if (onDisk) {
        mkdirSync(dirname(resolve(file)), { recursive: true });
        // The database holds the bot's access token: readable by its owner only. SQLite gives
        // the -wal and -shm files the main file's mode, so set it before SQLite creates them.
        closeSync(openSync(file, "a", 0o600));
        chmodSync(file, 0o600);
      }
      db = new Database(file);
    } catch (e) {
      throw new HonoroitError("UNREACHABLE", `cannot open the SQLite database at ${file}: ${reasonOf(e)}`, { cause: e });
    }
    try {
      // WAL lets `honoroit tickets list` read while `serve` writes. A second writer (e.g. the
      // CLI next to `serve`) waits for the lock, but in our own loop (see #retrying), not in
      // SQLite's busy handler, which would block the whole process while it waits.
      db.pragma("journal_mode = WAL");
      db.pragma("busy_timeout = 0");
      if (onDisk) {
        for (const f of [`${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
      }
      db.pragma("foreign_keys = ON");
    } catch (e) {
      db.close();
      throw new HonoroitError("UNREACHABLE", `cannot use the SQLite database at ${file}: ${reasonOf(e)}`, { cause: e });
    }
    return new SqliteDatabase(db, file, busyTimeoutMs);
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.#standalone("run", () => this.#run(sql, params));
  }

  get(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
    return this.#standalone("get", () => this.#get(sql, params));
  }

  all(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return this.#standalone("all", () => this.#all(sql, params));
  }

  async *iterate(sql: string, params: readonly SqlValue[] = []): AsyncGenerator<Row> {
    this.#context.assertOutside("iterate()");
    // Held until the loop ends: the connection is busy with the statement until then.
    await this.#mutex.acquire();
    try {
      yield* this.#rows(sql, params);
    } finally {
      this.#mutex.release();
    }
  }

  exec(script: string): Promise<void> {
    return this.#standalone("exec", () => {
      this.#db.exec(script);
    });
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.#context.assertOutside("transaction()");
    await this.#mutex.acquire();
    try {
      await this.#begin();
      const state: TransactionState = { open: true };
      let result: T;
      try {
        result = await this.#context.run(state, () => work(this.#transactionExecutor(state)));
        state.open = false;
        this.#mapped(() => this.#db.exec("COMMIT"));
      } catch (e) {
        state.open = false;
        try {
          if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
        } catch {
          // The error that made us roll back is the one worth reporting.
        }
        throw e;
      }
      return result;
    } finally {
      this.#mutex.release();
    }
  }

  async close(): Promise<void> {
    this.#context.assertOutside("close()");
    if (this.#closed) return;
    this.#closed = true;
    await this.#mutex.acquire();
    try {
      try {
        // Lets SQLite refresh the planner statistics it found stale during this session.
        this.#db.pragma("optimize");
      } catch {
        // Best effort: a database that can no longer be written (full, read-only) still closes.
      }
      this.#db.close();
    } finally {
      this.#mutex.release();
    }
  }

  // --- helpers ---------------------------------------------------------------------------

  /** A statement outside any transaction: waits for one in progress, then runs on its own. */
  async #standalone<T>(what: string, statement: () => T): Promise<T> {
    this.#context.assertOutside(`${what}()`);
    await this.#mutex.acquire();
    try {
      return await this.#retrying(statement);
    } finally {
      this.#mutex.release();
    }
  }

  /**
   * Runs a statement (or BEGIN IMMEDIATE), trying again while another connection holds the lock,
   * for up to the busy timeout; a statement that met a lock changed nothing, so it is safe to
   * repeat. Pauses are jittered, so two processes waiting for each other do not retry in step.
   */
  async #retrying<T>(statement: () => T): Promise<T> {
    const deadline = Date.now() + this.#busyTimeoutMs;
    for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
      try {
        return statement();
      } catch (e) {
        const left = deadline - Date.now();
        if (!isBusy(e) || left <= 0) throw sqliteFailure(e, this.#file);
        await delay(Math.min(left, pause * (0.5 + Math.random())));
      }
    }
  }

  /**
   * BEGIN IMMEDIATE: takes the write lock now. A deferred BEGIN would take it at the first
   * write, and a lock upgrade that meets another writer fails at once, whatever the wait.
   */
  async #begin(): Promise<void> {
    await this.#retrying(() => this.#db.exec("BEGIN IMMEDIATE"));
  }

  /** The executor handed to a transaction's work: runs at once, while the transaction is open. */
  #transactionExecutor(state: TransactionState): SqlExecutor {
    const now = <T>(statement: () => T): Promise<T> =>
      new Promise<T>((resolvePromise) => {
        assertOpen(state);
        resolvePromise(this.#mapped(statement));
      });
    const tx: SqlExecutor = {
      run: (sql, params = []) => now(() => this.#run(sql, params)),
      get: (sql, params = []) => now(() => this.#get(sql, params)),
      all: (sql, params = []) => now(() => this.#all(sql, params)),
      iterate: (sql, params = []) => this.#rows(sql, params, state),
      exec: (script) =>
        now(() => {
          this.#db.exec(script);
        }),
      // Joins this transaction: SQLite has one writer at a time, so there is nothing to nest.
      transaction: async (work) => {
        assertOpen(state);
        return work(tx);
      },
    };
    return tx;
  }

  #statement(sql: string): Database.Statement {
    // The store's statements are a fixed set of texts, so this cache stays small.
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #run(sql: string, params: readonly SqlValue[]): number {
    return this.#statement(sql).run(...params).changes;
  }

  #get(sql: string, params: readonly SqlValue[]): Row | undefined {
    return this.#statement(sql).get(...params) as Row | undefined;
  }

  #all(sql: string, params: readonly SqlValue[]): Row[] {
    return this.#statement(sql).all(...params) as Row[];
  }

  /**
   * A statement's rows one at a time, through a statement of its own (a cached one could be
   * asked for again while this one is still busy). The first step waits out another process's
   * lock like any statement; inside a transaction, each step checks that it is still open.
   */
  async *#rows(sql: string, params: readonly SqlValue[], state?: TransactionState): AsyncGenerator<Row> {
    if (state !== undefined) assertOpen(state);
    const { rows, first } = await this.#retrying(() => {
      const iterator = this.#db.prepare(sql).iterate(...params) as IterableIterator<Row>;
      return { rows: iterator, first: iterator.next() };
    });
    try {
      for (let step = first; step.done !== true; step = this.#mapped(() => rows.next())) {
        yield step.value;
        if (state !== undefined) assertOpen(state);
      }
    } finally {
      // Ends the statement when the loop stops early, freeing the connection.
      rows.return?.();
    }
  }

  /** Runs a driver call, sorting what it throws by cause (see sqliteFailure). */
  #mapped<T>(call: () => T): T {
    try {
      return call();
    } catch (e) {
      throw sqliteFailure(e, this.#file);
    }
  }
}

/** A first-come, first-served lock for async code; `release` hands it straight to the next waiter. */
class AsyncMutex {
  #held = false;
  readonly #waiters: (() => void)[] = [];

  get held(): boolean {
    return this.#held;
  }

  acquire(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise<void>((resolveWaiter) => this.#waiters.push(resolveWaiter));
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next === undefined) this.#held = false;
    else next();
  }
}

/** What a SQLite result code says about the database, as opposed to the statement that met it. */
interface SqliteCause {
  readonly code: "BUSY" | "UNREACHABLE";
  /** Why, for the message. */
  readonly reason: string;
}

/**
 * Result codes that are not the statement's fault, by primary code: an extended code
 * (SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED, …) counts as its primary one. BUSY: another
 * connection holds a lock we need. UNREACHABLE: the file cannot be used at all for now (the
 * disk, its permissions, the machine, a damaged file that an admin must restore: events wait
 * rather than being skipped). Any other code (a constraint, a syntax error) is the
 * statement's own or a bug, and is thrown as it is.
 */
const SQLITE_CAUSES: ReadonlyMap<string, SqliteCause> = new Map([
  ["SQLITE_BUSY", { code: "BUSY", reason: "another process holds its lock" }],
  ["SQLITE_LOCKED", { code: "BUSY", reason: "another process holds its lock" }],
  ["SQLITE_FULL", { code: "UNREACHABLE", reason: "the disk is full" }],
  ["SQLITE_IOERR", { code: "UNREACHABLE", reason: "the disk reported an I/O error" }],
  ["SQLITE_READONLY", { code: "UNREACHABLE", reason: "it cannot be written (a read-only file, folder or file system?)" }],
  ["SQLITE_CANTOPEN", { code: "UNREACHABLE", reason: "a file of it cannot be opened" }],
  ["SQLITE_PROTOCOL", { code: "UNREACHABLE", reason: "its file locking failed (is it on a network file system?)" }],
  ["SQLITE_NOMEM", { code: "UNREACHABLE", reason: "out of memory" }],
  ["SQLITE_CORRUPT", { code: "UNREACHABLE", reason: "the file is damaged (restore it from a backup)" }],
  ["SQLITE_NOTADB", { code: "UNREACHABLE", reason: "the file is not an SQLite database" }],
]);

/** The primary result code of a (possibly extended) one: SQLITE_IOERR_WRITE is an SQLITE_IOERR. */
function primaryCode(code: string): string {
  // Primary codes have no underscore after the prefix; extended ones append a suffix to them.
  return code.split("_", 2).join("_");
}

/** Another connection holds a lock we need (SQLITE_BUSY, SQLITE_LOCKED and their extended codes). */
function isBusy(e: unknown): boolean {
  return e instanceof Database.SqliteError && SQLITE_CAUSES.get(primaryCode(e.code))?.code === "BUSY";
}

/**
 * Sorts an error from the SQLite database at `file` by cause (see SQLITE_CAUSES): a
 * HonoroitError naming the file and the cause when it is not the statement's fault,
 * otherwise `e` itself.
 */
export function sqliteFailure(e: unknown, file: string): unknown {
  if (!(e instanceof Database.SqliteError)) return e;
  const cause = SQLITE_CAUSES.get(primaryCode(e.code));
  if (cause === undefined) return e;
  const message =
    cause.code === "BUSY"
      ? `the SQLite database at ${file} is busy: ${cause.reason} (${e.code}); try again`
      : `cannot use the SQLite database at ${file}: ${cause.reason} (${e.code}: ${e.message})`;
  return new HonoroitError(cause.code, message, { cause: e });
}

function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
