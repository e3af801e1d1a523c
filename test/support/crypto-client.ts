// matrix-js-sdk clients with Rust crypto (its state on fake-indexeddb in this process), for
// end-to-end tests in encrypted rooms: what they read is what a person's app would show.
import "fake-indexeddb/auto";
import { Preset } from "matrix-js-sdk";
import type { MatrixClient, MatrixEvent } from "matrix-js-sdk";
import { loginClient, registerUser, uniqueName, waitFor } from "./synapse.ts";
import type { SynapseEnv } from "./synapse.ts";

export const MEGOLM = { type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } };

export interface CryptoPerson {
  readonly userId: string;
  readonly localpart: string;
  readonly client: MatrixClient;
}

/** Registers someone and logs them in with end-to-end encryption on; stopped by the caller. */
export async function cryptoPerson(hs: SynapseEnv, name: string, displayname: string, password: string): Promise<CryptoPerson> {
  const localpart = uniqueName(name);
  const reg = await registerUser(hs, localpart, password);
  const client = await cryptoClient(hs, localpart, password);
  await client.setDisplayName(displayname);
  return { userId: reg.userId, localpart, client };
}

/** A further device of someone already registered. */
export async function cryptoClient(hs: SynapseEnv, localpart: string, password: string): Promise<MatrixClient> {
  return loginClient(hs, localpart, password, {
    beforeStart: async (client) => {
      await client.initRustCrypto({ cryptoDatabasePrefix: uniqueName("crypto") });
    },
  });
}

/** An encrypted direct chat from `who` with `bot`, once the bot has joined it. */
export async function encryptedDm(who: CryptoPerson, bot: string): Promise<string> {
  const { room_id: dm } = await who.client.createRoom({ is_direct: true, preset: Preset.TrustedPrivateChat, invite: [bot], initial_state: [MEGOLM] });
  await waitFor(() => (who.client.getRoom(dm)?.getMember(bot)?.membership === "join" ? true : undefined), { what: "the bot to join the encrypted direct chat", timeoutMs: 30_000 });
  return dm;
}

/** The room's events as the client shows them (decrypted where it could), main timeline and threads. */
export function shownEvents(client: MatrixClient, room: string): MatrixEvent[] {
  const r = client.getRoom(room);
  if (r === null) return [];
  const events = [...r.getLiveTimeline().getEvents()];
  for (const thread of r.getThreads()) events.push(...thread.liveTimeline.getEvents());
  return events;
}

/** Text messages by `sender` in `room` that the client could decrypt, in timeline order. */
export function readableBodies(client: MatrixClient, room: string, sender: string): string[] {
  return shownEvents(client, room)
    .filter((e) => e.getSender() === sender && e.getType() === "m.room.message" && !e.isDecryptionFailure())
    .map((e) => String(e.getContent().body));
}

/** Messages of `sender` in `room` that the client could not decrypt. */
export function unreadable(client: MatrixClient, room: string, sender: string): number {
  return shownEvents(client, room).filter((e) => e.getSender() === sender && e.isDecryptionFailure()).length;
}

/** Waits until the client shows a decrypted event matching `predicate`. */
export function waitForShown(client: MatrixClient, room: string, predicate: (ev: MatrixEvent) => boolean, what: string, timeoutMs = 30_000): Promise<MatrixEvent> {
  return waitFor(() => shownEvents(client, room).find((e) => !e.isDecryptionFailure() && e.getType() !== "m.room.encrypted" && predicate(e)), { what, timeoutMs, intervalMs: 100 });
}

/** The bot's devices as another user's client sees them. */
export async function deviceIdsOf(client: MatrixClient, user: string): Promise<string[]> {
  const crypto = client.getCrypto();
  if (crypto === undefined) throw new Error("this client has no crypto");
  const devices = await crypto.getUserDeviceInfo([user], true);
  return [...(devices.get(user)?.keys() ?? [])];
}
