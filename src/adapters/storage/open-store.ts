import type { Clock, Logger } from "../../core/ports.ts";
import type { Store } from "../../core/ports/storage.ts";
import type { Dialect } from "./sql.ts";
import { SqlStore } from "./sql-store.ts";

export interface OpenStoreOptions {
  readonly dialect: Dialect;
  /** SQLite: a file path (`:memory:` for a throwaway database). PostgreSQL: a `postgres://` URL. */
  readonly dsn: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/**
 * Opens the configured store. Loads only the chosen driver, and only when called, so commands
 * that need no database (and `--help`) load neither. Does not migrate: callers call `migrate()`.
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const storeOptions = options.clock === undefined ? {} : { clock: options.clock };
  if (options.dialect === "sqlite") {
    const { SqliteDatabase } = await import("./sqlite-database.ts");
    return new SqlStore(SqliteDatabase.open(options.dsn), storeOptions);
  }
  const { PgDatabase } = await import("./pg-database.ts");
  const db = await PgDatabase.connect(options.dsn, options.logger === undefined ? {} : { logger: options.logger });
  return new SqlStore(db, storeOptions);
}
