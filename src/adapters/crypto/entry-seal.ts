// Journal entries at rest: v8-serialised (IndexedDB values are structured-clone data), then
// sealed with AES-256-GCM under a key derived from the data secret when one is set.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { deserialize, serialize } from "node:v8";
import { HonoroitError } from "../../core/errors.ts";
import type { JournalEntry } from "./idb-entry.ts";

const SEALED = "s1:";
const PLAIN = "p1:";

export class EntrySeal {
  private readonly key: Buffer | undefined;

  /** Without a secret, entries are kept only encoded (a warning is the caller's to give). */
  constructor(secret: string | undefined) {
    this.key = secret === undefined || secret === "" ? undefined : Buffer.from(hkdfSync("sha256", secret, "honoroit", "crypto store", 32));
  }

  get sealing(): boolean {
    return this.key !== undefined;
  }

  seal(entry: JournalEntry): string {
    const bytes = serialize(entry);
    if (this.key === undefined) return PLAIN + bytes.toString("base64");
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const body = Buffer.concat([cipher.update(bytes), cipher.final()]);
    return SEALED + Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
  }

  open(stored: string): JournalEntry {
    if (stored.startsWith(PLAIN)) return deserialize(Buffer.from(stored.slice(PLAIN.length), "base64")) as JournalEntry;
    if (!stored.startsWith(SEALED)) throw new HonoroitError("BAD_DATA", "the saved encryption state is in an unknown format");
    if (this.key === undefined) {
      throw new HonoroitError("BAD_CONFIG", "the saved encryption state is sealed: set the data secret (HONOROIT_DATA_SECRET) it was saved with");
    }
    const raw = Buffer.from(stored.slice(SEALED.length), "base64");
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return deserialize(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()])) as JournalEntry;
    } catch {
      throw new HonoroitError("BAD_CONFIG", "the saved encryption state cannot be opened with this data secret (HONOROIT_DATA_SECRET changed?)");
    }
  }
}
