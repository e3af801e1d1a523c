import { HonoroitError } from "../../core/errors.ts";
import type { MigrationInfo } from "../../core/ports.ts";
import type { CommandInput } from "../command.ts";
import type { CliContext } from "../context.ts";
import type { Output } from "../output.ts";

function migrationJson(m: MigrationInfo): Record<string, unknown> {
  return { version: m.version, name: m.name, appliedAt: m.appliedAt?.toISOString() ?? null };
}

/** `honoroit migrate`, as declared in the command table (index.ts). */
export async function run({ options }: CommandInput, ctx: CliContext): Promise<Output> {
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
}
