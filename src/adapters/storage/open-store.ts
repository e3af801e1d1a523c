import type { Clock, Logger, Store } from "../../core/ports.ts";
import type { Dialect } from "./migrations.ts";

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
  const clock = options.clock === undefined ? {} : { clock: options.clock };
  if (options.dialect === "sqlite") {
    const { SqliteTicketStore } = await import("./sqlite-store.ts");
    return SqliteTicketStore.open(options.dsn, clock);
  }
  const { PgTicketStore } = await import("./pg-store.ts");
  return PgTicketStore.connect(options.dsn, { ...clock, ...(options.logger === undefined ? {} : { logger: options.logger }) });
}
