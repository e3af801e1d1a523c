import path from "node:path";
import type { ConfigKey, FlatConfig } from "./schema.ts";
import type { Problem } from "./problem.ts";
import type { Resolved } from "./resolve-key.ts";

/** The flat configuration while it is being normalised. */
export type MutableFlat = { -readonly [K in keyof FlatConfig]: FlatConfig[K] };

function isPostgresUrl(dsn: string): boolean {
  try {
    const { protocol } = new URL(dsn);
    return protocol === "postgres:" || protocol === "postgresql:";
  } catch {
    return false;
  }
}

/**
 * Checks db.dsn against db.dialect and turns a SQLite dsn into an absolute file path (relative
 * to the folder of the layer that gave it, or `defaultDir` for the default).
 */
export function normaliseDatabase(
  flat: MutableFlat,
  resolved: ReadonlyMap<ConfigKey, Resolved>,
  defaultDir: string,
  problems: { errors: Problem[]; warnings: Problem[] },
): void {
  const dsnSource = resolved.get("db.dsn")?.source ?? "default";
  const dialectSource = resolved.get("db.dialect")?.source ?? "default";
  if (resolved.get("db.dsn")?.ok === false || resolved.get("db.dialect")?.ok === false) return;
  const dsn = flat["db.dsn"];
  if (flat["db.dialect"] === "postgres") {
    if (dsnSource === "default") {
      problems.errors.push({
        key: "db.dsn",
        source: dsnSource,
        message: `required when db.dialect is postgres (${dialectSource}): a postgres:// or postgresql:// URL (HONOROIT_DB_DSN)`,
      });
    } else if (!isPostgresUrl(dsn)) {
      problems.errors.push({
        key: "db.dsn",
        source: dsnSource,
        message: "with db.dialect postgres, expected a postgres:// or postgresql:// URL (key=value connection strings are not supported)",
      });
    }
    return;
  }
  if (isPostgresUrl(dsn)) {
    problems.errors.push({
      key: "db.dsn",
      source: dsnSource,
      message: `is a PostgreSQL URL but db.dialect is sqlite (${dialectSource}); set db.dialect (HONOROIT_DB_DIALECT) to postgres`,
    });
    return;
  }
  if (dsn === ":memory:") return;
  // The Go bot's SQLite driver takes `file:path?options`; the options mean nothing to ours.
  let file = dsn.replace(/^file:/, "");
  const query = file.indexOf("?");
  if (query !== -1) {
    file = file.slice(0, query);
    problems.warnings.push({ key: "db.dsn", source: dsnSource, message: `SQLite driver options after "?" are ignored; using the file ${file}` });
  }
  const baseDir = resolved.get("db.dsn")?.baseDir ?? defaultDir;
  flat["db.dsn"] = path.resolve(baseDir, file);
}
