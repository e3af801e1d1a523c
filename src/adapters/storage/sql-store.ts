import type { Clock } from "../../core/ports.ts";
import type {
  CryptoStateStore,
  EventJournal,
  JobQueue,
  KeyValueStore,
  Ledger,
  MigrationInfo,
  OptionStore,
  RelayLog,
  Store,
  StoreScope,
  SyncState,
  TicketImport,
  TicketStore,
  TrackerNotes,
} from "../../core/ports/storage.ts";
import { applyMigrations, readMigrationStatus } from "./migrations.ts";
import { DIALECTS } from "./sql.ts";
import type { Dialect, SqlDatabase, SqlExecutor } from "./sql.ts";
import { SqlCryptoState } from "./sql-crypto.ts";
import { SqlEventJournal, SqlLedger, SqlRelayLog } from "./sql-events.ts";
import { SqlJobQueue, SqlTrackerNotes } from "./sql-jobs.ts";
import { SqlKeyValueStore, SqlOptionStore, SqlSyncState } from "./sql-settings.ts";
import { SqlTicketImport, SqlTicketStore } from "./sql-tickets.ts";

export interface SqlStoreOptions {
  /** Stamps migrations, option changes, queued jobs and saved sync tokens; the system clock by default. */
  readonly clock?: Clock;
}

const SYSTEM_CLOCK: Clock = { now: () => new Date() };

/** Every storage port over one executor: the whole database, or one transaction. */
class SqlScope implements StoreScope {
  readonly tickets: TicketStore;
  readonly relays: RelayLog;
  readonly journal: EventJournal;
  readonly ledger: Ledger;
  readonly sync: SyncState;
  readonly options: OptionStore;
  readonly kv: KeyValueStore;
  readonly jobs: JobQueue;
  readonly notes: TrackerNotes;
  readonly imports: TicketImport;
  readonly crypto: CryptoStateStore;

  constructor(db: SqlExecutor, dialect: Dialect, clock: Clock) {
    this.tickets = new SqlTicketStore(db, DIALECTS[dialect]);
    this.relays = new SqlRelayLog(db);
    this.journal = new SqlEventJournal(db);
    this.ledger = new SqlLedger(db);
    this.sync = new SqlSyncState(db, clock);
    this.options = new SqlOptionStore(db, clock);
    this.kv = new SqlKeyValueStore(db);
    this.jobs = new SqlJobQueue(db, clock);
    this.notes = new SqlTrackerNotes(db);
    this.imports = new SqlTicketImport(db, DIALECTS[dialect]);
    this.crypto = new SqlCryptoState(db);
  }
}

/** The whole `Store` on SQLite or PostgreSQL: the same statements over either database's executor. */
export class SqlStore extends SqlScope implements Store {
  readonly dialect: Dialect;
  readonly #db: SqlDatabase;
  readonly #clock: Clock;

  /** Takes ownership of `db`: `close` closes it. Does not migrate. */
  constructor(db: SqlDatabase, options: SqlStoreOptions = {}) {
    const clock = options.clock ?? SYSTEM_CLOCK;
    super(db, db.dialect, clock);
    this.dialect = db.dialect;
    this.#db = db;
    this.#clock = clock;
  }

  transaction<T>(work: (tx: StoreScope) => Promise<T>): Promise<T> {
    return this.#db.transaction((tx) => work(new SqlScope(tx, this.dialect, this.#clock)));
  }

  migrate(): Promise<MigrationInfo[]> {
    return applyMigrations(this.#db, this.#clock);
  }

  migrationStatus(): Promise<MigrationInfo[]> {
    return readMigrationStatus(this.#db);
  }

  close(): Promise<void> {
    return this.#db.close();
  }
}
