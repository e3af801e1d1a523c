import type { HelpdeskDeps } from "../deps.ts";

/** How long handled events and sent-message keys are kept by default: 30 days. */
export const DEFAULT_RETENTION_MS = 30 * 86_400_000;

/** Marks of events handled this long before the sync position was saved are kept too. */
const REPLAY_MARGIN_MS = 86_400_000;

/**
 * Forgets handled incoming events and ledger entries (sent messages, counts, started rooms)
 * older than `keepMs`, so neither table grows forever. A replay only covers events after the
 * saved sync position, so nothing handled after it was saved is forgotten, however old: a bot
 * stuck for longer than the retention (waiting for its operators room, say) replays nothing twice.
 */
export async function pruneOldRecords(
  deps: Pick<HelpdeskDeps, "store" | "clock" | "logger">,
  keepMs: number = DEFAULT_RETENTION_MS,
): Promise<{ handled: number; sent: number }> {
  const savedAt = await deps.store.sync.savedAt();
  const byAge = deps.clock.now().getTime() - keepMs;
  const before = new Date(savedAt === undefined ? byAge : Math.min(byAge, savedAt.getTime() - REPLAY_MARGIN_MS));
  const handled = await deps.store.journal.prune(before);
  const sent = await deps.store.ledger.prune(before);
  if (handled > 0 || sent > 0) deps.logger.info("pruned old records", { handled, sent, before: before.toISOString() });
  return { handled, sent };
}
