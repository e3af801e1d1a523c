// One `honoroit serve` per database: two would drive the same Matrix device (and with
// encryption corrupt its keys). The lock is the database's own, released by the operating
// system or the server when the holder dies, however it dies: SQLite, an exclusive lock on a
// file beside the database; PostgreSQL, a session advisory lock on a connection of its own.
import { hostname } from "node:os";
import { setTimeout as delay } from "node:timers/promises";
import type { Logger } from "../../core/ports.ts";
import type { Dialect } from "./sql.ts";

export interface ServeLock {
  /** One try: true when this process holds the lock now (also when it already did). */
  tryAcquire(): Promise<boolean>;
  /** Fires when a held lock is lost for good (PostgreSQL: after a reconnect, another holds it). */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

/** Who holds the lock, as the holder recorded it (see `describeHolder`). */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

export function currentHolder(): LockHolder {
  return { pid: process.pid, host: hostname(), since: new Date().toISOString() };
}

export function describeHolder(raw: string | undefined): string {
  if (raw === undefined) return "another honoroit serve";
  try {
    const h = JSON.parse(raw) as Partial<LockHolder>;
    return `another honoroit serve (pid ${String(h.pid)} on ${String(h.host)}, since ${String(h.since)})`;
  } catch {
    return "another honoroit serve";
  }
}

export async function openServeLock(dialect: Dialect, dsn: string, logger: Logger): Promise<ServeLock> {
  if (dialect === "sqlite") return sqliteLock(dsn);
  return pgLock(dsn, logger);
}

/** `:memory:` is private to its process: nothing to share, always held. */
async function sqliteLock(dsn: string): Promise<ServeLock> {
  const lost = new AbortController().signal;
  if (dsn === ":memory:" || dsn === "") return { tryAcquire: () => Promise.resolve(true), lost, release: () => Promise.resolve() };
  const { default: Database } = await import("better-sqlite3");
  let db: InstanceType<typeof Database> | undefined;
  return {
    tryAcquire() {
      if (db !== undefined) return Promise.resolve(true);
      const candidate = new Database(`${dsn}.lock`);
      try {
        candidate.pragma("busy_timeout = 0");
        // Held until this process closes it or dies: the operating system releases the lock.
        candidate.exec("BEGIN EXCLUSIVE");
        db = candidate;
        return Promise.resolve(true);
      } catch (error) {
        candidate.close();
        if ((error as { code?: string }).code === "SQLITE_BUSY") return Promise.resolve(false);
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    },
    lost,
    release() {
      db?.close();
      db = undefined;
      return Promise.resolve();
    },
  };
}

/** Any fixed key: every honoroit on a database competes for the same one. */
const ADVISORY_KEY = 0x486f6e6f;

async function pgLock(dsn: string, logger: Logger): Promise<ServeLock> {
  const { Client } = await import("pg");
  const lostController = new AbortController();
  let client: InstanceType<typeof Client> | undefined;
  let held = false;
  let released = false;

  const connect = async (): Promise<InstanceType<typeof Client>> => {
    const c = new Client({ connectionString: dsn, application_name: "honoroit serve lock" });
    c.on("error", () => undefined);
    await c.connect();
    return c;
  };
  const grab = async (c: InstanceType<typeof Client>): Promise<boolean> => {
    const result = await c.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [ADVISORY_KEY]);
    return result.rows[0]?.locked === true;
  };
  /** The lock's connection ended while held: get it back on a new one, unless another has. */
  const regain = async (): Promise<void> => {
    logger.warn("the database connection holding the serve lock was lost; taking the lock again");
    for (let attempt = 0; !released; attempt++) {
      try {
        const c = await connect();
        if (await grab(c)) {
          watch(c);
          logger.info("the serve lock is held again");
          return;
        }
        await c.end().catch(() => undefined);
        held = false;
        logger.error("another honoroit serve took the database while its connection was down; this one stops");
        lostController.abort(new Error("another honoroit serve took over the database"));
        return;
      } catch {
        await delay(Math.min(5000, 500 * 2 ** Math.min(attempt, 4)));
      }
    }
  };
  const watch = (c: InstanceType<typeof Client>): void => {
    client = c;
    c.once("end", () => {
      if (client === c && held && !released) void regain();
    });
  };

  return {
    async tryAcquire() {
      if (held) return true;
      const c = await connect();
      try {
        if (!(await grab(c))) {
          await c.end();
          return false;
        }
      } catch (error) {
        await c.end().catch(() => undefined);
        throw error;
      }
      held = true;
      watch(c);
      return true;
    },
    lost: lostController.signal,
    async release() {
      released = true;
      held = false;
      await client?.end().catch(() => undefined);
      client = undefined;
    },
  };
}
