import type { Clock } from "../../core/ports.ts";
import type { MigrationInfo } from "../../core/ports/storage.ts";
import { DIALECTS, int, text } from "./sql.ts";
import type { Dialect, SqlDatabase } from "./sql.ts";

/** One schema change, with its SQL for each dialect; applied in one transaction. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: Readonly<Record<Dialect, string>>;
}

/**
 * The bookkeeping table, created before any numbered migration runs. Not itself a migration,
 * so that `migrationStatus` can tell "never migrated" from "migrated".
 */
export const SCHEMA_MIGRATIONS_DDL = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL
)`;

// Timestamps are integer epoch milliseconds on both dialects (BIGINT), so a value read back is
// the same number whichever database wrote it, and no time zone ever enters the picture.
// Applied in the field: its text must never change (a test pins it).
function initialSchema(dialect: Dialect): string {
  // A ticket number shown to people is never reused, even after a delete.
  const serial = DIALECTS[dialect].serialKey;
  return `
CREATE TABLE tickets (
  id ${serial},
  customer TEXT NOT NULL,
  homeserver TEXT NOT NULL,
  customer_room TEXT NOT NULL,
  thread_root TEXT,
  status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
  title TEXT,
  opened_at BIGINT NOT NULL,
  closed_at BIGINT,
  last_activity_at BIGINT NOT NULL,
  close_reason TEXT,
  redmine_issue_id BIGINT,
  -- The ordinals counted when the ticket was opened, so that a repeated openTicket for the
  -- same room (e.g. after a crash before the thread root was posted) can rebuild the same title.
  customer_ordinal INTEGER NOT NULL,
  homeserver_ordinal INTEGER NOT NULL
);

-- At most one open ticket per customer room; openTicket relies on it under concurrency.
CREATE UNIQUE INDEX tickets_open_room ON tickets (customer_room) WHERE status = 'open';
-- id is a tie-breaker in every ORDER BY, so it is the last column of each ordering index:
-- the index then yields rows already in order and no sort step is needed.
CREATE INDEX tickets_status_opened ON tickets (status, opened_at, id);
CREATE INDEX tickets_opened ON tickets (opened_at, id);
CREATE INDEX tickets_customer_opened ON tickets (customer, opened_at, id);
CREATE INDEX tickets_thread_root ON tickets (thread_root, opened_at, id);
CREATE INDEX tickets_idle ON tickets (status, last_activity_at, id);
CREATE INDEX tickets_redmine_issue ON tickets (redmine_issue_id) WHERE redmine_issue_id IS NOT NULL;

-- Request ordinals per user and per homeserver: O(1) to count, whatever the history.
CREATE TABLE request_counters (
  scope TEXT NOT NULL CHECK (scope IN ('user', 'server')),
  key TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
);

CREATE TABLE relays (
  source_event TEXT PRIMARY KEY,
  ticket_id BIGINT NOT NULL REFERENCES tickets (id),
  kind TEXT NOT NULL,
  source_room TEXT NOT NULL,
  target_room TEXT NOT NULL,
  target_event TEXT NOT NULL
);
CREATE INDEX relays_target_event ON relays (target_event);

CREATE TABLE handled_events (
  event_id TEXT PRIMARY KEY,
  handled_at BIGINT NOT NULL
);
-- pruneHandled deletes by age.
CREATE INDEX handled_events_at ON handled_events (handled_at);

-- Bot messages sent under an idempotency key, and the event each became.
CREATE TABLE sent_messages (
  key TEXT PRIMARY KEY,
  event_id TEXT NOT NULL,
  sent_at BIGINT NOT NULL
);
-- pruneSent deletes by age.
CREATE INDEX sent_messages_at ON sent_messages (sent_at);

CREATE TABLE sync_state (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE options (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE kv (
  namespace TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (namespace, key)
);

CREATE TABLE redmine_notes (
  ticket_id BIGINT NOT NULL REFERENCES tickets (id),
  note_id BIGINT NOT NULL,
  PRIMARY KEY (ticket_id, note_id)
);

CREATE TABLE redmine_outbox (
  id ${serial},
  ticket_id BIGINT NOT NULL REFERENCES tickets (id),
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  not_before BIGINT NOT NULL,
  last_error TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX redmine_outbox_not_before ON redmine_outbox (not_before);
`;
}

// The send ledger becomes a general ledger of once-only results (its rows move over), and the
// Redmine outbox, never used, gives way to a job queue any kind of deferred work can use.
function ledgerAndJobs(dialect: Dialect): string {
  return `
CREATE TABLE ledger (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  at BIGINT NOT NULL
);
-- ledger.prune deletes by age.
CREATE INDEX ledger_at ON ledger (at);
INSERT INTO ledger (key, value, at) SELECT key, event_id, sent_at FROM sent_messages;
DROP TABLE sent_messages;

DROP TABLE redmine_outbox;
CREATE TABLE jobs (
  id ${DIALECTS[dialect].serialKey},
  kind TEXT NOT NULL,
  -- Idempotency: a cause queues its job under a key derived from it, once.
  key TEXT NOT NULL UNIQUE,
  -- Jobs of one lane run one at a time, in id order; NULL: no ordering.
  lane TEXT,
  payload TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  run_at BIGINT NOT NULL,
  last_error TEXT,
  created_at BIGINT NOT NULL
);
-- jobs.due: pending jobs oldest first, skipping the failed ones kept for people to see.
CREATE INDEX jobs_due ON jobs (id, run_at) WHERE state = 'pending';
-- jobs.due: is there an older pending job in this lane?
CREATE INDEX jobs_lane ON jobs (lane, id) WHERE state = 'pending' AND lane IS NOT NULL;
`;
}

// Whether a ticket's customer still needs a greeting. Tickets opened before this version were
// greeted then (or needed none), so they count as greeted when they were opened; a ticket
// opened from now on starts with NULL, "one is due", until the core records the greeting.
const GREETING_STATE = `
ALTER TABLE tickets ADD COLUMN greeted_at BIGINT;
UPDATE tickets SET greeted_at = opened_at;
`;

// Who sent a relayed event: an edit or a redaction only acts on a copy when it comes from the
// same person. Relays recorded before this version have none; they are not edited or redacted.
const RELAY_SENDER = `
ALTER TABLE relays ADD COLUMN source_sender TEXT;
`;

/** Every migration, in the order it must be applied. Append only; never edit an applied one. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "initial schema", sql: { sqlite: initialSchema("sqlite"), postgres: initialSchema("postgres") } },
  { version: 2, name: "ledger and jobs", sql: { sqlite: ledgerAndJobs("sqlite"), postgres: ledgerAndJobs("postgres") } },
  { version: 3, name: "greeting state", sql: { sqlite: GREETING_STATE, postgres: GREETING_STATE } },
  { version: 4, name: "relay sender", sql: { sqlite: RELAY_SENDER, postgres: RELAY_SENDER } },
  { version: 5, name: "crypto state", sql: { sqlite: cryptoState("sqlite"), postgres: cryptoState("postgres") } },
];

/**
 * Applies pending migrations, each in its own transaction under the dialect's migration lock,
 * so a second process migrating at once waits, then finds it done. Returns those applied.
 */
export async function applyMigrations(db: SqlDatabase, clock: Clock): Promise<MigrationInfo[]> {
  const lock = DIALECTS[db.dialect].migrationLock;
  await db.transaction(async (tx) => {
    if (lock !== null) await tx.run(lock);
    await tx.exec(SCHEMA_MIGRATIONS_DDL);
  });
  const applied: MigrationInfo[] = [];
  for (const migration of MIGRATIONS) {
    const done = await db.transaction(async (tx): Promise<MigrationInfo | undefined> => {
      if (lock !== null) await tx.run(lock);
      if ((await tx.get("SELECT 1 AS one FROM schema_migrations WHERE version = ?", [migration.version])) !== undefined) {
        return undefined;
      }
      await tx.exec(migration.sql[db.dialect]);
      const appliedAt = clock.now();
      await tx.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [
        migration.version,
        migration.name,
        appliedAt.getTime(),
      ]);
      return { version: migration.version, name: migration.name, appliedAt };
    });
    if (done !== undefined) applied.push(done);
  }
  return applied;
}

/** Every known migration with when it was applied, then any unknown one found applied. */
export async function readMigrationStatus(db: SqlDatabase): Promise<MigrationInfo[]> {
  const exists = (await db.get(DIALECTS[db.dialect].migrationsTableExists)) !== undefined;
  const rows = exists ? await db.all("SELECT version, name, applied_at FROM schema_migrations") : [];
  return describeMigrations(
    new Map(rows.map((r) => [int(r, "version"), { name: text(r, "name"), appliedAt: new Date(int(r, "applied_at")) }])),
  );
}

/** What `migrationStatus` reports: every known migration, then any unknown one found applied. */
export function describeMigrations(
  applied: ReadonlyMap<number, { readonly name: string; readonly appliedAt: Date }>,
): MigrationInfo[] {
  const known = MIGRATIONS.map((m) => ({ version: m.version, name: m.name, appliedAt: applied.get(m.version)?.appliedAt ?? null }));
  // A version we do not know was written by a newer honoroit: show it rather than hide it.
  const unknown = [...applied]
    .filter(([version]) => !MIGRATIONS.some((m) => m.version === version))
    .map(([version, row]) => ({ version, name: row.name, appliedAt: row.appliedAt }));
  return [...known, ...unknown].sort((a, b) => a.version - b.version);
}

// The end-to-end encryption state: a snapshot (one part per IndexedDB database) and the
// journal of what changed since, both sealed entries in text; restored as snapshot then journal.
function cryptoState(dialect: Dialect): string {
  return `
CREATE TABLE crypto_snapshot (
  part INTEGER PRIMARY KEY,
  entry TEXT NOT NULL
);
CREATE TABLE crypto_journal (
  id ${DIALECTS[dialect].serialKey},
  entry TEXT NOT NULL
);
`;
}
