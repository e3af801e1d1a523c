import { setTimeout as delay } from "node:timers/promises";
import { Pool, TypeOverrides } from "pg";
import type { PoolClient } from "pg";
import { HonoroitError } from "../../core/errors.ts";
import type { Logger } from "../../core/ports.ts";
import { connectionReason, isConflict, isUnreachable, pgFailure, serverCode } from "./pg-failure.ts";
import { assertOpen, TransactionContext } from "./sql.ts";
import type { Row, SqlDatabase, SqlExecutor, SqlValue, TransactionState } from "./sql.ts";

export interface PgOptions {
  /** Told about errors on idle pooled connections (e.g. the server restarted). */
  readonly logger?: Logger;
  /** How long to wait for a connection (ms); unset in `pg` means forever, which hides outages. */
  readonly connectTimeoutMs?: number;
  /** Pool size. */
  readonly maxConnections?: number;
  /** How many times a transaction runs at most when PostgreSQL reports a conflict (default 4). */
  readonly transactionAttempts?: number;
}

/** The longest close() waits for pooled connections to finish closing. */
const CLOSE_WAIT_MS = 2000;
/** The first pause before running a conflicting transaction again; it doubles, with jitter. */
const RETRY_BASE_MS = 15;
/** Rows fetched from a cursor at a time by `iterate`. */
const CURSOR_PAGE_ROWS = 500;

/** A PostgreSQL database through a `pg` pool. Each transaction holds one pooled connection. */
export class PgDatabase implements SqlDatabase {
  readonly dialect = "postgres";
  readonly #pool: Pool;
  readonly #target: string;
  readonly #attempts: number;
  readonly #context = new TransactionContext();
  readonly #texts = new Map<string, string>();
  /** Names cursors uniquely: one transaction may read through several at once. */
  #cursors = 0;
  #closed = false;

  private constructor(pool: Pool, target: string, attempts: number) {
    this.#pool = pool;
    this.#target = target;
    this.#attempts = attempts;
  }

  /**
   * Connects to the database named by a `postgres://` DSN and checks it answers.
   * Throws UNREACHABLE (without the password) when it cannot connect.
   */
  static async connect(dsn: string, options: PgOptions = {}): Promise<PgDatabase> {
    checkDsn(dsn);
    // BIGINT (int8) columns hold epoch milliseconds and ids, all well inside 2^53: read them as
    // numbers. Per pool, not the global pg.types, so nothing else in the process is affected.
    const types = new TypeOverrides();
    types.setTypeParser(20, (value: string) => Number(value));
    const pool = new Pool({
      connectionString: dsn,
      types,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      max: options.maxConnections ?? 10,
    });
    // Without a listener an idle connection dropped by the server would crash the process;
    // the next query reports the outage anyway.
    pool.on("error", (e) => options.logger?.warn("PostgreSQL connection lost", { error: e.message }));
    const target = describeTarget(dsn);
    try {
      await pool.query("SELECT 1");
    } catch (e) {
      await pool.end().catch(() => undefined);
      // Whatever stops `SELECT 1` (TLS refused, bad role, no database…) is a failure to reach it.
      const mapped = pgFailure(e, target);
      if (mapped instanceof HonoroitError) throw mapped;
      throw new HonoroitError("UNREACHABLE", `cannot reach PostgreSQL at ${target}: ${connectionReason(e)}`, { cause: e });
    }
    return new PgDatabase(pool, target, Math.max(1, options.transactionAttempts ?? 4));
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    this.#context.assertOutside("run()");
    return (await this.#query(this.#pool, sql, params)).rowCount ?? 0;
  }

  async get(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
    this.#context.assertOutside("get()");
    return (await this.#query(this.#pool, sql, params)).rows[0];
  }

  async all(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    this.#context.assertOutside("all()");
    return (await this.#query(this.#pool, sql, params)).rows;
  }

  async *iterate(sql: string, params: readonly SqlValue[] = []): AsyncGenerator<Row> {
    this.#context.assertOutside("iterate()");
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (e) {
      throw pgFailure(e, this.#target);
    }
    let ended = false;
    let broken: Error | undefined;
    try {
      // A cursor lives in a transaction; this one only reads.
      await this.#script(client, "BEGIN READ ONLY");
      yield* this.#cursor(client, sql, params);
      await this.#script(client, "COMMIT");
      ended = true;
    } catch (e) {
      if (isUnreachable(e) || serverCode(e)?.reconnect === true) broken = e instanceof Error ? e : new Error(String(e));
      throw e;
    } finally {
      // Stopped early or failed: ending the transaction closes the cursor.
      if (!ended && broken === undefined) {
        await client.query("ROLLBACK").catch((e: unknown) => {
          broken = e instanceof Error ? e : new Error(String(e));
        });
      }
      client.release(broken);
    }
  }

  async exec(script: string): Promise<void> {
    this.#context.assertOutside("exec()");
    await this.#script(this.#pool, script);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    // Not a hang here as on SQLite, but the same mistake: the statement would escape the
    // transaction (or wait for a row lock the transaction holds, which never comes).
    this.#context.assertOutside("transaction()");
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#transactionOnce(work);
      } catch (e) {
        if (!isConflict(e)) throw e;
        if (attempt >= this.#attempts) {
          throw new HonoroitError("BUSY", `PostgreSQL at ${this.#target} kept reporting conflicting transactions; try again`, {
            cause: e,
          });
        }
        await delay(RETRY_BASE_MS * 2 ** (attempt - 1) * (0.5 + Math.random()));
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // pool.end() resolves once its connections are told to end, not once they have. Wait for
    // each one's "remove" (bounded), so that whoever comes next (a DROP DATABASE, a server
    // shutdown) does not cut off a connection still saying goodbye.
    let open = this.#pool.totalCount;
    const allClosed = new Promise<void>((resolveClosed) => {
      if (open === 0) resolveClosed();
      this.#pool.on("remove", () => {
        if (--open <= 0) resolveClosed();
      });
    });
    await this.#pool.end();
    await Promise.race([allClosed, delay(CLOSE_WAIT_MS, undefined, { ref: false })]);
  }

  // --- helpers ---------------------------------------------------------------------------

  /** One attempt: BEGIN, the work, COMMIT on one pooled connection; ROLLBACK on any error. */
  async #transactionOnce<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (e) {
      throw pgFailure(e, this.#target);
    }
    const state: TransactionState = { open: true };
    let broken: Error | undefined;
    try {
      await this.#script(client, "BEGIN");
      const result = await this.#context.run(state, () => work(this.#transactionExecutor(client, state)));
      state.open = false;
      await this.#script(client, "COMMIT");
      return result;
    } catch (e) {
      state.open = false;
      if (isUnreachable(e)) {
        // A connection that failed mid-transaction may be in any state: do not pool it again.
        broken = e instanceof Error ? e : new Error(String(e));
      } else {
        await client.query("ROLLBACK").catch(() => undefined);
        // As pool.query does after any error, so the next connection goes wherever the DSN
        // points now (a connection to a server demoted to standby would stay read-only).
        if (serverCode(e)?.reconnect === true) broken = e instanceof Error ? e : new Error(String(e));
      }
      throw e;
    } finally {
      client.release(broken);
    }
  }

  /** The executor handed to a transaction's work: statements on its connection while it is open. */
  #transactionExecutor(client: PoolClient, state: TransactionState): SqlExecutor {
    const tx: SqlExecutor = {
      run: async (sql, params = []) => {
        assertOpen(state);
        return (await this.#query(client, sql, params)).rowCount ?? 0;
      },
      get: async (sql, params = []) => {
        assertOpen(state);
        return (await this.#query(client, sql, params)).rows[0];
      },
      all: async (sql, params = []) => {
        assertOpen(state);
        return (await this.#query(client, sql, params)).rows;
      },
      iterate: (sql, params = []) => this.#cursor(client, sql, params, state),
      exec: async (script) => {
        assertOpen(state);
        await this.#script(client, script);
      },
      // Joins this transaction; a conflict anywhere in it runs the outermost work again.
      transaction: async (work) => {
        assertOpen(state);
        return work(tx);
      },
    };
    return tx;
  }

  async #query(on: Pool | PoolClient, sql: string, params: readonly SqlValue[]): Promise<{ rows: Row[]; rowCount: number | null }> {
    try {
      return await on.query<Row>(this.#text(sql), [...params]);
    } catch (e) {
      throw pgFailure(e, this.#target);
    }
  }

  /**
   * A query's rows through a cursor on `client`, which must be in a transaction. Inside a
   * caller's transaction (`state`) the cursor is closed when the loop stops early; on its own,
   * the transaction's end closes it.
   */
  async *#cursor(client: PoolClient, sql: string, params: readonly SqlValue[], state?: TransactionState): AsyncGenerator<Row> {
    if (state !== undefined) assertOpen(state);
    const name = `honoroit_rows_${++this.#cursors}`;
    await this.#onClient(client, `DECLARE ${name} NO SCROLL CURSOR FOR ${this.#text(sql)}`, params);
    let fetched: boolean | undefined;
    try {
      for (;;) {
        fetched = false;
        const page = await this.#onClient(client, `FETCH FORWARD ${CURSOR_PAGE_ROWS} FROM ${name}`, []);
        fetched = true;
        for (const row of page.rows) yield row;
        if (page.rows.length < CURSOR_PAGE_ROWS) break;
        if (state !== undefined) assertOpen(state);
      }
    } finally {
      // Not after a failed FETCH: PostgreSQL refuses everything in that transaction but its end.
      if (state?.open === true && fetched === true) await this.#onClient(client, `CLOSE ${name}`, []);
    }
  }

  /** A statement already in PostgreSQL's form (`$n`), on one connection. */
  async #onClient(client: PoolClient, text: string, params: readonly SqlValue[]): Promise<{ rows: Row[] }> {
    try {
      return await client.query<Row>(text, [...params]);
    } catch (e) {
      throw pgFailure(e, this.#target);
    }
  }

  async #script(on: Pool | PoolClient, script: string): Promise<void> {
    try {
      await on.query(script);
    } catch (e) {
      throw pgFailure(e, this.#target);
    }
  }

  /** The statement with `?` rewritten to `$n`, remembered per text. */
  #text(sql: string): string {
    let text = this.#texts.get(sql);
    if (text === undefined) {
      text = numberPlaceholders(sql);
      this.#texts.set(sql, text);
    }
    return text;
  }
}

/**
 * Rewrites `?` placeholders to `$1…$n`, leaving alone any `?` inside quotes, quoted names,
 * dollar-quoted bodies and comments.
 */
export function numberPlaceholders(sql: string): string {
  let out = "";
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql.charAt(i);
    const skipTo = (end: string, from: number): void => {
      const stop = sql.indexOf(end, from);
      const next = stop === -1 ? sql.length : stop + end.length;
      out += sql.slice(i, next);
      i = next;
    };
    if (c === "'" || c === '"') {
      skipTo(c, i + 1);
    } else if (c === "-" && sql[i + 1] === "-") {
      skipTo("\n", i + 2);
    } else if (c === "/" && sql[i + 1] === "*") {
      skipTo("*/", i + 2);
    } else if (c === "$" && /^\$[A-Za-z_]*\$/.test(sql.slice(i))) {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i))?.[0] ?? "$$";
      out += tag;
      i += tag.length;
      skipTo(tag, i);
    } else if (c === "?") {
      out += `$${++n}`;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/**
 * Rejects a DSN `pg` would misread (it takes a non-URL for a host name). The message never
 * repeats the DSN, which may hold a password.
 */
function checkDsn(dsn: string): void {
  const expected = "expected postgres://user:password@host:port/database";
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    throw new HonoroitError("BAD_CONFIG", `the PostgreSQL DSN is not a URL (${expected})`);
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new HonoroitError("BAD_CONFIG", `the PostgreSQL DSN must start with postgres:// (${expected})`);
  }
}

/** `host:port` of a DSN, for messages; never the user name or password. */
export function describeTarget(dsn: string): string {
  try {
    const url = new URL(dsn);
    // A socket directory may be given as ?host=/run/postgresql.
    const host = url.searchParams.get("host") ?? (url.hostname === "" ? "localhost" : decodeURIComponent(url.hostname));
    const port = url.searchParams.get("port") ?? (url.port === "" ? "5432" : url.port);
    return `${host}:${port}`;
  } catch {
    return "the configured DSN";
  }
}
