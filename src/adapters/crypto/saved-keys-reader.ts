// Decrypting with the room keys serve saved, for a command that only reads beside a running
// serve (`tickets show`): the crypto state is restored into this process's memory and never
// saved back, and nothing is sent, so serve's device and its state are left as they are.
import { DeviceId, initAsync, OlmMachine, UserId } from "@matrix-org/matrix-sdk-crypto-wasm";
import type { Logger } from "../../core/ports.ts";
import type { CryptoStateStore } from "../../core/ports/storage.ts";
import { CryptoPersistence } from "./crypto-persistence.ts";
import { decryptEvent, STORE_NAME } from "./olm-engine.ts";

export interface SavedKeysOptions {
  readonly store: CryptoStateStore;
  readonly secret: string | undefined;
  readonly userId: string;
  readonly deviceId: string;
  readonly logger: Logger;
}

export class SavedKeysReader {
  private constructor(private readonly machine: OlmMachine) {}

  /** The reader, or undefined when serve has saved no crypto state (encryption never ran). */
  static async open(options: SavedKeysOptions): Promise<SavedKeysReader | undefined> {
    await initAsync();
    const persistence = new CryptoPersistence({ store: options.store, secret: options.secret, logger: options.logger });
    if (!(await persistence.restore())) return undefined;
    persistence.recorder.installGlobals();
    return new SavedKeysReader(await OlmMachine.initialize(new UserId(options.userId), new DeviceId(options.deviceId), STORE_NAME));
  }

  decrypt(room: string, raw: object): Promise<{ type: string; content: unknown }> {
    return decryptEvent(this.machine, room, raw);
  }

  close(): void {
    this.machine.close();
  }
}
