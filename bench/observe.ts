// When a person's client sees an event: the moment its /sync delivered it (ClientEvent.Event).
import { ClientEvent } from "matrix-js-sdk";
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

/** The thread an event was posted in, if any. */
export function threadOf(ev: MatrixEvent): string | undefined {
  const rel: unknown = ev.getContent()["m.relates_to"];
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
