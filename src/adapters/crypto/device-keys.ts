// At `init`: the bot's new device gets its encryption keys, cross-signing and a key backup at
// once, so that init can show the recovery key while the admin is there to write it down
// (serve would otherwise make them at its first start, and `honoroit crypto recovery-key`
// show the key later). The state is saved in the database serve then goes on with.
import { messageOf } from "../../core/errors.ts";
import type { Logger } from "../../core/ports.ts";
import type { CryptoStateStore, KeyValueStore } from "../../core/ports/storage.ts";
import { MatrixApi } from "../matrix/api.ts";
import type { MatrixSession } from "../matrix/login.ts";
import { AccountKeys } from "./account-keys.ts";
import { OlmEngine } from "./olm-engine.ts";
import { keepRecoveryKey, keptRecoveryKey } from "./recovery-key.ts";

export type DeviceKeys = { readonly recoveryKey: string } | { readonly problems: readonly string[] };

/** Publishes the device's keys, cross-signs it and makes the key backup; what failed is said, not thrown. */
export async function setUpDeviceKeys(session: MatrixSession, store: { readonly crypto: CryptoStateStore; readonly kv: KeyValueStore }, secret: string | undefined, logger: Logger): Promise<DeviceKeys> {
  const api = MatrixApi.create(session.homeserver, session.accessToken, { logger, maxAttempts: 2 });
  const engine = await OlmEngine.start({ api, store: store.crypto, secret, userId: session.userId, deviceId: session.deviceId, logger });
  try {
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
    engine.close();
  }
}
