import { randomBytes } from "node:crypto";
import path from "node:path";
import type { TestContext } from "node:test";
import { Client } from "pg";
import { probeService, requireService } from "./services.ts";

/** The server where tests may create and drop databases of their own. */
export const PG_ADMIN_DSN = process.env["HONOROIT_TEST_PG_DSN"] ?? "postgres://postgres@127.0.0.1:5432/postgres";

/**
 * A new, empty database for one test, dropped when the test ends; undefined after marking the
 * test skipped when PostgreSQL is not there (a failure under CI).
 */
export async function freshDatabase(t: TestContext, prefix = "honoroit_e2e"): Promise<string | undefined> {
  const problem = await probeService(async () => {
    const client = new Client({ connectionString: PG_ADMIN_DSN, connectionTimeoutMillis: 3000 });
    await client.connect();
    await client.end();
  });
  if (!requireService(t, "PostgreSQL", problem)) return undefined;
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = new Client({ connectionString: PG_ADMIN_DSN });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  t.after(async () => {
    const c = new Client({ connectionString: PG_ADMIN_DSN });
    await c.connect();
    try {
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await c.end();
    }
  });
  const url = new URL(PG_ADMIN_DSN);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * The environment that points the binary at a new database: a SQLite file in `dir`, or a fresh
 * PostgreSQL database; undefined when the test was skipped for want of PostgreSQL.
 */
export async function databaseEnv(t: TestContext, database: "sqlite" | "postgres", dir: string): Promise<Record<string, string> | undefined> {
  if (database === "sqlite") return { HONOROIT_DB_DSN: path.join(dir, "honoroit.db") };
  const dsn = await freshDatabase(t);
  return dsn === undefined ? undefined : { HONOROIT_DB_DIALECT: "postgres", HONOROIT_DB_DSN: dsn };
}
