// Bare client-server API calls for the benchmarks and tests: bulk sends and room set-up from many accounts
// without a matrix-js-sdk client (and its sync) for each of them.
import { randomBytes } from "node:crypto";
import type { RegisteredUser, SynapseEnv } from "./synapse.ts";

/** A registered account and its access token. */
export type Account = RegisteredUser;

let txnCounter = 0;

async function call(hs: SynapseEnv, who: Account, method: string, urlPath: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${hs.url}/_matrix/client/v3${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${who.accessToken}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${urlPath} as ${who.userId}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

const enc = encodeURIComponent;

/** Sends an event; resolves with its id once the homeserver has accepted it. */
export async function sendEvent(hs: SynapseEnv, who: Account, room: string, type: string, content: Record<string, unknown>): Promise<string> {
  txnCounter += 1;
  const txn = `bench-${txnCounter}-${randomBytes(4).toString("hex")}`;
  const res = await call(hs, who, "PUT", `/rooms/${enc(room)}/send/${enc(type)}/${txn}`, content);
  return String(res["event_id"]);
}

/** Sends a plain text message. */
export function sendText(hs: SynapseEnv, who: Account, room: string, body: string): Promise<string> {
  return sendEvent(hs, who, room, "m.room.message", { msgtype: "m.text", body });
}

/** Sends a text message in a thread of the operators room. */
export function sendInThread(hs: SynapseEnv, who: Account, room: string, root: string, body: string): Promise<string> {
  return sendEvent(hs, who, room, "m.room.message", {
    msgtype: "m.text",
    body,
    "m.relates_to": { rel_type: "m.thread", event_id: root, is_falling_back: true, "m.in_reply_to": { event_id: root } },
  });
}

/** Megolm, the end-to-end encryption of Matrix rooms, as a room's initial state. */
const ROOM_ENCRYPTION = { type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } };

/** Creates a room; `direct` makes it a direct chat with the invited users, `encrypted` turns end-to-end encryption on. */
export async function createRoom(hs: SynapseEnv, who: Account, opts: { invite: readonly string[]; direct?: boolean; name?: string; encrypted?: boolean }): Promise<string> {
  const res = await call(hs, who, "POST", "/createRoom", {
    invite: opts.invite,
    preset: opts.direct === true ? "trusted_private_chat" : "private_chat",
    ...(opts.direct === true ? { is_direct: true } : {}),
    ...(opts.name === undefined ? {} : { name: opts.name }),
    ...(opts.encrypted === true ? { initial_state: [ROOM_ENCRYPTION] } : {}),
  });
  return String(res["room_id"]);
}

export async function invite(hs: SynapseEnv, who: Account, room: string, user: string): Promise<void> {
  await call(hs, who, "POST", `/rooms/${enc(room)}/invite`, { user_id: user });
}

export async function join(hs: SynapseEnv, who: Account, room: string): Promise<void> {
  await call(hs, who, "POST", `/rooms/${enc(room)}/join`, {});
}

export async function setDisplayName(hs: SynapseEnv, who: Account, name: string): Promise<void> {
  await call(hs, who, "PUT", `/profile/${enc(who.userId)}/displayname`, { displayname: name });
}

/** The users joined to a room, as `who` (a member) sees them. */
export async function joinedMembers(hs: SynapseEnv, who: Account, room: string): Promise<Set<string>> {
  const res = await call(hs, who, "GET", `/rooms/${enc(room)}/joined_members`);
  const joined = res["joined"];
  return new Set(typeof joined === "object" && joined !== null ? Object.keys(joined) : []);
}

/** Polls until `user` is (or, with `present: false`, is no longer) joined to the room. */
export async function waitForMembership(hs: SynapseEnv, who: Account, room: string, user: string, opts: { present: boolean; timeoutMs?: number; what: string }): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let delay = 20;
  for (;;) {
    if ((await joinedMembers(hs, who, room)).has(user) === opts.present) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(200, delay * 2);
  }
}

/** The newest `limit` events of a room sent by `sender`, newest first. */
export async function messagesFrom(hs: SynapseEnv, who: Account, room: string, sender: string, limit = 1000): Promise<{ body: string }[]> {
  const filter = JSON.stringify({ senders: [sender], types: ["m.room.message"] });
  const res = await call(hs, who, "GET", `/rooms/${enc(room)}/messages?dir=b&limit=${limit}&filter=${enc(filter)}`);
  const chunk = Array.isArray(res["chunk"]) ? (res["chunk"] as { content?: { body?: unknown } }[]) : [];
  return chunk.map((e) => ({ body: typeof e.content?.body === "string" ? e.content.body : "" }));
}

/** The homeserver's version, e.g. "Synapse 1.160.0" (unknown when it will not say). */
export async function serverVersion(hs: SynapseEnv): Promise<string> {
  try {
    const res = await fetch(`${hs.url}/_synapse/admin/v1/server_version`);
    const body = (await res.json()) as { server_version?: unknown };
    return typeof body.server_version === "string" ? `Synapse ${body.server_version}` : "unknown";
  } catch {
    return "unknown";
  }
}
