// `honoroit migrate --from-go`: the Go bot's state, read from Matrix, into this database.
import { HonoroitError } from "../../core/errors.ts";
import type { GoImportSummary, Tally } from "../../core/usecases/import-go.ts";
import type { Output } from "../output.ts";
import type { CliContext } from "../context.ts";

export interface FromGoOptions {
  readonly dryRun: boolean;
  readonly skipUnreadable: boolean;
}

/** Shows how far the history scan is, on a terminal only. */
function progressLine(): { update(events: number): void; done(): void } {
  const err = process.stderr;
  if (!err.isTTY) return { update: () => undefined, done: () => undefined };
  let shown = false;
  return {
    update(events) {
      shown = true;
      err.write(`\rreading the operators room: ${events.toLocaleString("en")} events`);
    },
    done() {
      if (shown) err.write("\n");
    },
  };
}

export async function importFromGo(ctx: CliContext, opts: FromGoOptions): Promise<Output> {
  const config = await ctx.config();
  const logger = await ctx.logger();
  const { requireMatrixLogin } = await import("../../config/load.ts");
  const matrix = requireMatrixLogin(config);
  const store = await ctx.store();
  const { openServeLock } = await import("../../adapters/storage/serve-lock.ts");
  const lock = await openServeLock(config.db.dialect, config.db.dsn, logger);
  if (!(await lock.tryAcquire()) && !opts.dryRun) {
    throw new HonoroitError("BUSY", "a serve is running on this database: stop it, import, then start it again (the import must be the only one writing)");
  }
  try {
    const { GoSealedText } = await import("../../adapters/go-honoroit/sealed-text.ts");
    const { readGoAccountData, scanOperatorsRoom, customerOfRoom } = await import("../../adapters/go-honoroit/go-state.ts");
    const { connectMatrix } = await import("../../adapters/matrix/connection.ts");
    const { loginCredentials } = await import("../../serve/helpdesk-deps.ts");
    const { importGoState } = await import("../../core/usecases/import-go.ts");
    const connection = await connectMatrix({ ...loginCredentials(matrix, config), kv: store.kv, syncState: store.sync, logger, retry: false });
    try {
      const sealed = new GoSealedText(config.dataSecret ?? undefined);
      let started = performance.now();
      const took = (): number => Math.round(performance.now() - started);
      const read = await readGoAccountData(connection.api, sealed, opts.skipUnreadable);
      logger.info("read the Go bot's account data", { entries: read.entries, ms: took() });
      const donePrefix = read.account.options.get("text.prefix.done")?.trim() || "[DONE]";
      const progress = progressLine();
      started = performance.now();
      const room = await scanOperatorsRoom(connection.api, matrix.roomId, connection.userId, donePrefix, (n) => progress.update(n));
      progress.done();
      logger.info("read the operators room", { events: room.events, roots: room.roots.length, ms: took() });
      started = performance.now();
      const summary = await importGoState(store, {
        account: read.account,
        room,
        operatorsRoom: matrix.roomId,
        lookupCustomer: (r) => customerOfRoom(connection.api, r, connection.userId),
        ...(read.pendingInvites === 0 ? { syncPosition: read.nextBatch } : {}),
        dryRun: opts.dryRun,
      });
      logger.info(opts.dryRun ? "counted what an import would write" : "wrote the import", { ms: took() });
      return summaryOutput(summary, connection.userId, read.entries, read.pendingInvites);
    } finally {
      await connection.close();
    }
  } finally {
    await lock.release();
  }
}

const ROWS: readonly [string, (s: GoImportSummary) => Tally][] = [
  ["open requests", (s) => s.openTickets],
  ["closed requests", (s) => s.closedTickets],
  ["request counters", (s) => s.counters],
  ["relayed messages", (s) => s.relays],
  ["chat options", (s) => s.options],
  ["Redmine links", (s) => s.redmineLinks],
  ["Redmine notes", (s) => s.notes],
];

function summaryOutput(s: GoImportSummary, bot: string, entries: number, pendingInvites: number): Output {
  const verb = s.dryRun ? "would import" : "imported";
  const lines = [
    s.dryRun ? `dry run: nothing was written. From the Go bot's state of ${bot}:` : `From the Go bot's state of ${bot}:`,
    `  read ${entries} account-data entries and ${s.events} events of the operators room${s.unreadableEvents > 0 ? ` (${s.unreadableEvents} encrypted, not readable)` : ""}`,
    ...ROWS.map(([label, get]) => `  ${label.padEnd(17)} ${verb} ${get(s).imported}, already here ${get(s).unchanged}`),
    s.syncPosition === "saved"
      ? `  sync position     ${s.dryRun ? "would be saved" : "saved"}: serve goes on from this moment`
      : pendingInvites > 0
        ? `  sync position     not saved: ${pendingInvites} invitations are pending, serve takes them on its first start`
        : "  sync position     kept (this database already has one)",
  ];
  if (s.skipped.length > 0) lines.push(`skipped (${s.skipped.length}):`, ...s.skipped.map((k) => `  - ${k.what}: ${k.reason}`));
  return { kind: "lines", lines, json: { ...s, bot, accountDataEntries: entries, pendingInvites } };
}
