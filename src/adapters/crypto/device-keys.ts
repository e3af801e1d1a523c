// At `init`: the bot's new device gets its encryption keys, cross-signing and a key backup at
// once, so that init can show the recovery key while the admin is there to write it down
// (serve would otherwise make them at its first start, and `honoroit crypto recovery-key`
// show the key later). The state is saved in the database serve then goes on with.
import { messageOf } from "../../core/errors.ts";
import type { Logger } from "../../core/ports.ts";
import type { StoreScope } from "../../core/ports/storage.ts";
import { MatrixApi } from "../matrix/api.ts";
import type { MatrixSession } from "../matrix/login.ts";
import { AccountKeys } from "./account-keys.ts";
import { OlmEngine } from "./olm-engine.ts";
import { forgetRecoveryKey, keepRecoveryKey, keptRecoveryKey } from "./recovery-key.ts";

/** Where the keys are kept: the crypto state, and the recovery key beside the session. */
type KeyStores = Pick<StoreScope, "crypto" | "kv">;

export type DeviceKeys = ({ readonly recoveryKey: string } | { readonly problems: readonly string[] }) & {
  /** The database held an earlier device's keys, dropped: that device's session was replaced. */
  readonly replaced: boolean;
};

/** Publishes the device's keys, cross-signs it and makes the key backup; what failed is said, not thrown. */
export async function setUpDeviceKeys(session: MatrixSession, store: KeyStores, secret: string | undefined, logger: Logger): Promise<DeviceKeys> {
  const replaced = await dropEarlierState(store);
  const keys = await makeKeys(session, store, secret, logger);
  return { ...keys, replaced };
}

/**
 * Drops what an earlier `init` or serve kept on this database: the keys of a device whose
 * session init has just replaced (and sealed with a data secret the new file does not hold),
 * which no process could use again.
 */
async function dropEarlierState(store: KeyStores): Promise<boolean> {
  const { snapshot, journal } = await store.crypto.saved();
  if (snapshot.length === 0 && journal.length === 0) return false;
  await store.crypto.compact([], journal.at(-1)?.id ?? 0);
  await forgetRecoveryKey(store.kv);
  return true;
}

async function makeKeys(session: MatrixSession, store: KeyStores, secret: string | undefined, logger: Logger): Promise<{ readonly recoveryKey: string } | { readonly problems: readonly string[] }> {
  const api = MatrixApi.create(session.homeserver, session.accessToken, { logger, maxAttempts: 2 });
  let engine: OlmEngine | undefined;
  try {
    engine = await OlmEngine.start({ api, store: store.crypto, secret, userId: session.userId, deviceId: session.deviceId, logger });
    // The device's identity and one-time keys first: the cross-signing signature is of them.
    await engine.sendOutgoing();
    const problems = await new AccountKeys(engine, api, session.userId, logger, (key) => keepRecoveryKey(store.kv, secret, key)).setUp({});
    await engine.sendOutgoing();
    const kept = await keptRecoveryKey(store.kv, secret);
    if ("key" in kept) return { recoveryKey: kept.key };
    return { problems: problems.length > 0 ? problems : ["no key backup was made"] };
  } catch (error) {
    return { problems: [messageOf(error)] };
  } finally {
    engine?.close();
  }
}
