// A matrix-js-sdk client for a person in the benchmarks. Unlike the tests' loginClient, its sync
// filter asks for up to 1,000 timeline events per room and sync: with Synapse's default of 10,
// a busy operators room comes as a "limited" timeline whose skipped events the client never
// emits, and a benchmark counting copies would see messages as lost.
import { ClientEvent, createClient, Filter, SyncState } from "matrix-js-sdk";
import type { MatrixClient } from "matrix-js-sdk";
import { makeQuietLogger, releaseRequestTimers, stopClient, type SynapseEnv } from "../test/support/synapse.ts";
import type { Account } from "./matrix-http.ts";

const TIMELINE_LIMIT = 1000;

/** A started client on the account's own access token, resolved after its first sync. */
export async function startPersonClient(hs: SynapseEnv, account: Account, timeoutMs = 30_000): Promise<MatrixClient> {
  const client = createClient({
    baseUrl: hs.url,
    userId: account.userId,
    accessToken: account.accessToken,
    deviceId: account.deviceId,
    timelineSupport: true,
    logger: makeQuietLogger(account.userId),
  });
  releaseRequestTimers(client);
  const filter = new Filter(account.userId);
  filter.setDefinition({
    presence: { types: [] },
    room: { timeline: { limit: TIMELINE_LIMIT }, state: { lazy_load_members: true } },
  });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.removeListener(ClientEvent.Sync, onSync);
      reject(new Error(`${account.userId}: first sync not done within ${timeoutMs} ms`));
    }, timeoutMs);
    function onSync(state: SyncState): void {
      if (state !== SyncState.Prepared && state !== SyncState.Syncing && state !== SyncState.Error) return;
      clearTimeout(timer);
      client.removeListener(ClientEvent.Sync, onSync);
      if (state === SyncState.Error) reject(new Error(`${account.userId}: first sync failed`));
      else resolve();
    }
    client.on(ClientEvent.Sync, onSync);
  });
  try {
    await client.startClient({ filter, initialSyncLimit: 20, threadSupport: false });
    await ready;
  } catch (error) {
    stopClient(client);
    throw error;
  }
  return client;
}
