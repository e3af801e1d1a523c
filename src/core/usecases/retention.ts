import type { HelpdeskDeps } from "../deps.ts";

/** How long handled events and sent-message keys are kept by default: 30 days. */
export const DEFAULT_RETENTION_MS = 30 * 86_400_000;

/**
 * Forgets handled incoming events and ledger entries (sent messages, counts, started rooms) older than `keepMs`, so neither table
 * grows forever. 30 days is safe: a replay only covers events after the saved sync position
 * (plus a bounded gap backfill), and the homeserver itself drops repeated transaction ids for
 * a day, so no replay ever asks about anything that old.
 */
export async function pruneOldRecords(
  deps: Pick<HelpdeskDeps, "store" | "clock" | "logger">,
  keepMs: number = DEFAULT_RETENTION_MS,
): Promise<{ handled: number; sent: number }> {
  const before = new Date(deps.clock.now().getTime() - keepMs);
  const handled = await deps.store.journal.prune(before);
  const sent = await deps.store.ledger.prune(before);
  if (handled > 0 || sent > 0) deps.logger.info("pruned old records", { handled, sent, before: before.toISOString() });
  return { handled, sent };
}
