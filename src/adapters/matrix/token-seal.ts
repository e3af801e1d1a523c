// The saved access token at rest: sealed with AES-256-GCM under a key derived from the data
// secret when one is set, so a copy of the database alone does not let anyone act as the bot.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

const PREFIX = "sealed:v1:";

export class TokenSeal {
  private readonly key: Buffer | undefined;

  /** Without a secret, tokens are kept as they are (and sealed ones cannot be read). */
  constructor(secret: string | undefined) {
    this.key = secret === undefined || secret === "" ? undefined : Buffer.from(hkdfSync("sha256", secret, "honoroit", "matrix access token", 32));
  }

  seal(token: string): string {
    if (this.key === undefined) return token;
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const body = Buffer.concat([cipher.update(token, "utf8"), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
  }

  /** The token, or undefined when it is sealed and this secret cannot open it. */
  open(stored: string): string | undefined {
    if (!stored.startsWith(PREFIX)) return stored;
    if (this.key === undefined) return undefined;
    const raw = Buffer.from(stored.slice(PREFIX.length), "base64");
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
    } catch {
      return undefined;
    }
  }
}
