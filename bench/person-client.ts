// A matrix-js-sdk client for a person in the benchmarks. Unlike the tests' loginClient, its sync
// filter asks for up to 1,000 timeline events per room and sync: with Synapse's default of 10,
// a busy operators room comes as a "limited" timeline whose skipped events the client never
// emits, and a benchmark counting copies would see messages as lost.
// Rust crypto keeps its state in IndexedDB: in this process, fake-indexeddb's.
import "fake-indexeddb/auto";
import { ClientEvent, createClient, Filter, SyncState } from "matrix-js-sdk";
import type { MatrixClient } from "matrix-js-sdk";
import { makeQuietLogger, releaseRequestTimers, stopClient, uniqueName, type SynapseEnv } from "../test/support/synapse.ts";
import type { Account } from "../test/support/matrix-http.ts";

const TIMELINE_LIMIT = 1000;

/**
 * A started client on the account's own access token, resolved after its first sync. With
 * `crypto`, it reads and writes encrypted rooms as a person's app does (Rust crypto, its state
 * on fake-indexeddb in this process).
 */
export async function startPersonClient(hs: SynapseEnv, account: Account, opts: { timeoutMs?: number; crypto?: boolean } = {}): Promise<MatrixClient> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
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
    if (opts.crypto === true) {
      await client.initRustCrypto({ cryptoDatabasePrefix: uniqueName("crypto") });
    }
    await client.startClient({ filter, initialSyncLimit: 20, threadSupport: false });
    await ready;
  } catch (error) {
    stopClient(client);
    throw error;
  }
  return client;
}
