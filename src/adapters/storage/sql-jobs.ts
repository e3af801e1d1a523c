import type { TicketId } from "../../core/ids.ts";
import type { Clock } from "../../core/ports.ts";
import type { Job, JobCounts, JobQueue, NewJob, TrackerNotes } from "../../core/ports/storage.ts";
import { int, limitOf, placeholders, text, textOrNull } from "./sql.ts";
import type { Row, SqlExecutor } from "./sql.ts";
import { requireTicket } from "./sql-tickets.ts";

// Work after the fact: the durable job queue, and the issue-tracker notes already relayed.

/** The job queue in SQL. Completed jobs are deleted; failed ones stay, marked, for people to see. */
export class SqlJobQueue implements JobQueue {
  readonly #db: SqlExecutor;
  readonly #clock: Clock;

  constructor(db: SqlExecutor, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  async enqueue(job: NewJob): Promise<boolean> {
    const added = await this.#db.run(
      `INSERT INTO jobs (kind, key, lane, payload, state, attempts, run_at, created_at)
       VALUES (?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (key) DO NOTHING`,
      [job.kind, job.key, job.lane ?? null, job.payload, job.runAt.getTime(), this.#clock.now().getTime()],
    );
    return added > 0;
  }

  async due(now: Date, kinds: readonly string[], limit: number): Promise<Job[]> {
    if (kinds.length === 0) return [];
    // The lane check looks at pending jobs of every kind: a lane's order holds across kinds,
    // even those another runner handles.
    const rows = await this.#db.all(
      `SELECT * FROM jobs j
       WHERE j.state = 'pending' AND j.run_at <= ? AND j.kind IN (${placeholders(kinds.length)})
         AND (j.lane IS NULL OR NOT EXISTS (
           SELECT 1 FROM jobs older WHERE older.lane = j.lane AND older.state = 'pending' AND older.id < j.id))
       ORDER BY j.id
       LIMIT ?`,
      [now.getTime(), ...kinds, limitOf(limit)],
    );
    return rows.map(toJob);
  }

  async complete(id: number): Promise<void> {
    await this.#db.run("DELETE FROM jobs WHERE id = ?", [id]);
  }

  async retry(id: number, runAt: Date, error: string): Promise<void> {
    await this.#db.run("UPDATE jobs SET attempts = attempts + 1, run_at = ?, last_error = ? WHERE id = ? AND state = 'pending'", [
      runAt.getTime(),
      error,
      id,
    ]);
  }

  async fail(id: number, error: string): Promise<void> {
    // The attempt that failed for good counts too, so `attempts` is how often it ran.
    await this.#db.run("UPDATE jobs SET state = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ? AND state = 'pending'", [
      error,
      id,
    ]);
  }

  async counts(): Promise<JobCounts> {
    const rows = await this.#db.all("SELECT kind, state, COUNT(*) AS n FROM jobs GROUP BY kind, state ORDER BY kind");
    const pending = new Map<string, number>();
    const failed = new Map<string, number>();
    for (const row of rows) {
      (text(row, "state") === "failed" ? failed : pending).set(text(row, "kind"), int(row, "n"));
    }
    return { pending, failed };
  }
}

/** Relayed issue-tracker notes in SQL. */
export class SqlTrackerNotes implements TrackerNotes {
  readonly #db: SqlExecutor;

  constructor(db: SqlExecutor) {
    this.#db = db;
  }

  async isSynced(ticketId: TicketId, noteId: number): Promise<boolean> {
    return (await this.#db.get("SELECT 1 AS one FROM redmine_notes WHERE ticket_id = ? AND note_id = ?", [ticketId, noteId])) !== undefined;
  }

  async markSynced(ticketId: TicketId, noteId: number): Promise<void> {
    // Inserts nothing for an unknown ticket rather than failing its foreign key (see requireTicket).
    const added = await this.#db.run(
      "INSERT INTO redmine_notes (ticket_id, note_id) SELECT id, ? FROM tickets WHERE id = ? ON CONFLICT (ticket_id, note_id) DO NOTHING",
      [noteId, ticketId],
    );
    if (added === 0) await requireTicket(this.#db, ticketId);
  }
}

function toJob(row: Row): Job {
  return {
    id: int(row, "id"),
    kind: text(row, "kind"),
    key: text(row, "key"),
    lane: textOrNull(row, "lane"),
    payload: text(row, "payload"),
    attempts: int(row, "attempts"),
    runAt: new Date(int(row, "run_at")),
    lastError: textOrNull(row, "last_error"),
    createdAt: new Date(int(row, "created_at")),
  };
}
