import type { MigrationInfo } from "../../core/ports.ts";
import type { CliCommand } from "../command.ts";

function migrationJson(m: MigrationInfo): Record<string, unknown> {
  return { version: m.version, name: m.name, appliedAt: m.appliedAt?.toISOString() ?? null };
}

export const migrate: CliCommand = {
  path: ["migrate"],
  summary: "Create or upgrade the database schema (serve does this on start)",
  options: [{ flags: "--status", description: "show applied and pending migrations; change nothing" }],
  json: true,
  examples: ["honoroit migrate", "honoroit migrate --status", "HONOROIT_DB_DIALECT=postgres HONOROIT_DB_DSN=postgres://… honoroit migrate"],
  async run({ options }, ctx) {
    const cfg = await ctx.config();
    const { openStore } = await import("../../adapters/storage/open-store.ts");
    const store = await openStore({ dialect: cfg.db.dialect, dsn: cfg.db.dsn });
    ctx.onDispose(() => store.close());
    if (options["status"] === true) {
      const all = await store.migrationStatus();
      return {
        kind: "table",
        columns: ["VERSION", "NAME", "STATUS"],
        rows: all.map((m) => [String(m.version), m.name, m.appliedAt === null ? "pending" : `applied ${m.appliedAt.toISOString()}`]),
        empty: "no migrations",
        json: all.map(migrationJson),
      };
    }
    const applied = await store.migrate();
    const where = cfg.db.dialect === "sqlite" ? cfg.db.dsn : "PostgreSQL";
    return {
      kind: "lines",
      lines:
        applied.length === 0
          ? [`schema is up to date (${where})`]
          : applied.map((m) => `applied ${m.version} ${m.name} (${where})`),
      json: { applied: applied.map(migrationJson) },
    };
  },
};
