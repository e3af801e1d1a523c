import { HonoroitError } from "../../core/errors.ts";
import type { MigrationInfo } from "../../core/ports.ts";
import type { CliCommand } from "../command.ts";

function migrationJson(m: MigrationInfo): Record<string, unknown> {
  return { version: m.version, name: m.name, appliedAt: m.appliedAt?.toISOString() ?? null };
}

export const migrate: CliCommand = {
  path: ["migrate"],
  summary: "Create or upgrade the database schema (serve does this on start); --from-go imports the Go bot's state",
  options: [
    { flags: "--status", description: "show applied and pending migrations; change nothing" },
    { flags: "--from-go", description: "import the Go bot's state (its account data and the operators room's threads), logged in as the bot with the same settings; stop the Go bot first" },
    { flags: "--dry-run", description: "with --from-go: read everything and show what would be imported; write nothing" },
    { flags: "--skip-unreadable", description: "with --from-go: import what can be read when some entries do not open with the data secret" },
  ],
  json: true,
  examples: [
    "honoroit migrate",
    "honoroit migrate --status",
    "HONOROIT_DB_DIALECT=postgres HONOROIT_DB_DSN=postgres://… honoroit migrate",
    "honoroit migrate --from-go --dry-run   # with the Go bot's environment (HONOROIT_DATA_SECRET too)",
    "honoroit migrate --from-go",
  ],
  async run({ options }, ctx) {
    const fromGo = options["fromGo"] === true;
    for (const flag of ["dryRun", "skipUnreadable"] as const) {
      if (options[flag] === true && !fromGo) throw new HonoroitError("BAD_ARGUMENT", `--${flag === "dryRun" ? "dry-run" : "skip-unreadable"} goes with --from-go`);
    }
    if (fromGo) {
      if (options["status"] === true) throw new HonoroitError("BAD_ARGUMENT", "--status and --from-go do not go together");
      const { importFromGo } = await import("./migrate-from-go.ts");
      return importFromGo(ctx, { dryRun: options["dryRun"] === true, skipUnreadable: options["skipUnreadable"] === true });
    }
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
