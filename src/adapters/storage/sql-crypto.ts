import type { CryptoStateEntry, CryptoStateStore } from "../../core/ports/storage.ts";
import { int, placeholders, text } from "./sql.ts";
import type { SqlExecutor } from "./sql.ts";

/** Rows appended per INSERT: a sync's changes are usually a handful. */
const APPEND_CHUNK = 50;

/** The crypto state's snapshot and journal in SQL (same tables on SQLite and PostgreSQL). */
export class SqlCryptoState implements CryptoStateStore {
  readonly #db: SqlExecutor;

  constructor(db: SqlExecutor) {
    this.#db = db;
  }

  async append(entries: readonly string[]): Promise<number> {
    if (entries.length === 0) return 0;
    return this.#db.transaction(async (tx) => {
      for (let i = 0; i < entries.length; i += APPEND_CHUNK) {
        const chunk = entries.slice(i, i + APPEND_CHUNK);
        await tx.run(`INSERT INTO crypto_journal (entry) VALUES ${chunk.map(() => "(?)").join(", ")}`, chunk);
      }
      const row = await tx.get("SELECT MAX(id) AS id FROM crypto_journal");
      return row === undefined ? 0 : Number(row["id"]);
    });
  }

  async saved(): Promise<{ snapshot: string[]; journal: CryptoStateEntry[] }> {
    // One statement: one snapshot of the database, on SQLite and PostgreSQL alike.
    const rows = await this.#db.all(
      "SELECT 0 AS kind, part AS id, entry FROM crypto_snapshot UNION ALL SELECT 1 AS kind, id, entry FROM crypto_journal ORDER BY kind, id",
    );
    const snapshot: string[] = [];
    const journal: CryptoStateEntry[] = [];
    for (const r of rows) {
      if (Number(r["kind"]) === 0) snapshot.push(text(r, "entry"));
      else journal.push({ id: int(r, "id"), entry: text(r, "entry") });
    }
    return { snapshot, journal };
  }

  async compact(parts: readonly string[], upToId: number): Promise<void> {
    await this.#db.transaction(async (tx) => {
      await tx.run("DELETE FROM crypto_snapshot");
      for (const [part, entry] of parts.entries()) {
        await tx.run(`INSERT INTO crypto_snapshot (part, entry) VALUES (${placeholders(2)})`, [part, entry]);
      }
      await tx.run("DELETE FROM crypto_journal WHERE id <= ?", [upToId]);
    });
  }

  async size(): Promise<{ entries: number; chars: number }> {
    const row = await this.#db.get("SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(entry)), 0) AS chars FROM crypto_journal");
    return { entries: Number(row?.["n"] ?? 0), chars: Number(row?.["chars"] ?? 0) };
  }
}
