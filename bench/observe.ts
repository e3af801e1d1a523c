// When a person's client sees an event: the moment its /sync delivered it (ClientEvent.Event),
// or, in an encrypted room, the moment it also holds the event decrypted.
import { ClientEvent, MatrixEventEvent } from "matrix-js-sdk";
import type { MatrixClient, MatrixEvent } from "matrix-js-sdk";

/** An event a client received, and when (performance.now()). */
export interface Seen {
  readonly at: number;
  readonly event: MatrixEvent;
}

/** Resolves at the moment the client receives the first matching event in `room`. */
export function seen(client: MatrixClient, room: string, match: (ev: MatrixEvent) => boolean, timeoutMs = 60_000): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const onEvent = (ev: MatrixEvent): void => {
      if (ev.getRoomId() !== room || !match(ev)) return;
      const at = performance.now();
      clearTimeout(timer);
      client.removeListener(ClientEvent.Event, onEvent);
      resolve({ at, event: ev });
    };
    const timer = setTimeout(() => {
      client.removeListener(ClientEvent.Event, onEvent);
      reject(new Error(`${client.getUserId() ?? "?"} saw no matching event in ${room} within ${timeoutMs} ms`));
    }, timeoutMs);
    client.on(ClientEvent.Event, onEvent);
  });
}

/** performance.now() at the moment the client receives a matching event in `room`. */
export async function arrival(client: MatrixClient, room: string, match: (ev: MatrixEvent) => boolean, timeoutMs = 60_000): Promise<number> {
  return (await seen(client, room, match, timeoutMs)).at;
}

/** The text body of a message event ("" for anything else). */
export function bodyOf(ev: MatrixEvent): string {
  const body: unknown = ev.getContent()["body"];
  return typeof body === "string" ? body : "";
}

/** The thread an event was posted in, if any (in an encrypted event, its relation may sit outside the ciphertext). */
export function threadOf(ev: MatrixEvent): string | undefined {
  const rel: unknown = ev.getContent()["m.relates_to"] ?? ev.getWireContent()["m.relates_to"];
  if (typeof rel !== "object" || rel === null) return undefined;
  const r = rel as { rel_type?: unknown; event_id?: unknown };
  return r.rel_type === "m.thread" && typeof r.event_id === "string" ? r.event_id : undefined;
}

/** Resolves once the client has the room joined in its store. */
export async function clientHasRoom(client: MatrixClient, room: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (client.getRoom(room)?.getMyMembership() !== "join") {
    if (Date.now() > deadline) throw new Error(`${client.getUserId() ?? "?"} has not synced room ${room}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The event is one the client can show: in clear, or decrypted (not waiting for or failing its key). */
function readable(ev: MatrixEvent): boolean {
  return ev.getType() !== "m.room.encrypted" && !ev.isDecryptionFailure();
}

/**
 * Calls `onShown` once for each event of `room` the client receives, as soon as it can show it:
 * when /sync delivers it for an event in clear, when it is decrypted for an encrypted one (even
 * when its key came late). Returns the function that stops watching.
 */
export function watchShown(client: MatrixClient, room: string, onShown: (ev: MatrixEvent, at: number) => void): () => void {
  const waiting = new Set<MatrixEvent>();
  const onDecrypted = (ev: MatrixEvent): void => {
    if (!readable(ev)) return;
    ev.removeListener(MatrixEventEvent.Decrypted, onDecrypted);
    waiting.delete(ev);
    onShown(ev, performance.now());
  };
  const onEvent = (ev: MatrixEvent): void => {
    if (ev.getRoomId() !== room) return;
    if (readable(ev)) {
      onShown(ev, performance.now());
      return;
    }
    waiting.add(ev);
    ev.on(MatrixEventEvent.Decrypted, onDecrypted);
  };
  client.on(ClientEvent.Event, onEvent);
  return () => {
    client.removeListener(ClientEvent.Event, onEvent);
    for (const ev of waiting) ev.removeListener(MatrixEventEvent.Decrypted, onDecrypted);
    waiting.clear();
  };
}

/** The first matching event of `room` the client can show, and when (decrypted, in an encrypted room). */
export function shown(client: MatrixClient, room: string, match: (ev: MatrixEvent) => boolean, timeoutMs = 60_000): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const stop = watchShown(client, room, (event, at) => {
      if (!match(event)) return;
      clearTimeout(timer);
      stop();
      resolve({ at, event });
    });
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`${client.getUserId() ?? "?"} showed no matching event in ${room} within ${timeoutMs} ms`));
    }, timeoutMs);
  });
}
