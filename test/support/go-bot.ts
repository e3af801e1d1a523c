// What the Go bot leaves behind, written the way it writes it: global account data sealed with
// its data secret (current and older encodings, plaintext mixed in), thread roots and forwarded
// messages in the operators room. For tests and the import benchmark; drives the real homeserver.
import { createCipheriv, randomBytes } from "node:crypto";
import type { SynapseEnv } from "./synapse.ts";
import { loginUser } from "./synapse.ts";

export type SealFormat = "current" | "older" | "plain";

/** Seals a string as the Go bot does: AES-GCM, the secret's bytes as the key, a fresh 12-byte nonce. */
export function goSeal(secret: string, text: string, format: SealFormat): string {
  if (format === "plain") return text;
  const key = Buffer.from(secret, "utf8");
  const nonce = randomBytes(12);
  const cipher = createCipheriv(`aes-${key.length * 8}-gcm` as "aes-256-gcm", key, nonce);
  const sealed = Buffer.concat([nonce, cipher.update(text, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return format === "current" ? `ENCv1[${sealed.toString("base64url")}]` : sealed.toString("base64");
}

/** Seals every key and every value of a flat string map. */
export function goSealMap(secret: string, map: Readonly<Record<string, string>>, format: SealFormat): Record<string, string> {
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [goSeal(secret, k, format), goSeal(secret, v, format)]));
}

/** The Go bot's account, driven over the client-server API. */
export class GoBot {
  private txn = 0;

  private constructor(
    private readonly hs: SynapseEnv,
    readonly userId: string,
    private readonly token: string,
  ) {}

  static async login(hs: SynapseEnv, localpart: string, password: string): Promise<GoBot> {
    const creds = await loginUser(hs, localpart, password);
    return new GoBot(hs, creds.userId, creds.accessToken);
  }

  async request(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.hs.url}/_matrix/client/v3${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  async join(room: string): Promise<void> {
    await this.request("POST", `/rooms/${encodeURIComponent(room)}/join`, {});
  }

  async send(room: string, content: Record<string, unknown>): Promise<string> {
    const res = await this.request("PUT", `/rooms/${encodeURIComponent(room)}/send/m.room.message/go${Date.now()}-${this.txn++}`, content);
    return res["event_id"] as string;
  }

  async setAccountData(type: string, content: Record<string, string>): Promise<void> {
    await this.request("PUT", `/user/${encodeURIComponent(this.userId)}/account_data/${encodeURIComponent(type)}`, content);
  }

  /** A thread root as the Go bot posts it: `[OPEN] 2nd request from hs (1st by Name (@id))`. */
  root(room: string, body: string, customer: string): Promise<string> {
    return this.send(room, { msgtype: "m.notice", body, customer, homeserver: customer.slice(customer.indexOf(":") + 1), "m.mentions": {} });
  }

  /** A customer's message copied into a thread, naming its author with a link. */
  forward(room: string, root: string, customer: string, name: string, source: string, text: string): Promise<string> {
    return this.send(room, {
      msgtype: "m.text",
      body: `${name}:\n${text}`,
      format: "org.matrix.custom.html",
      formatted_body: `<a href="https://matrix.to/#/${customer}">${name}</a>:<br>${text}`,
      event_id: source,
      "m.relates_to": { rel_type: "m.thread", event_id: root, is_falling_back: true, "m.in_reply_to": { event_id: root } },
    });
  }

  /** The edit the Go bot makes when a request closes (or is renamed). */
  editRoot(room: string, root: string, body: string): Promise<string> {
    return this.send(room, { msgtype: "m.notice", body: `* ${body}`, "m.new_content": { msgtype: "m.notice", body }, "m.relates_to": { rel_type: "m.replace", event_id: root }, "m.mentions": {} });
  }
}
