import type { HelpdeskDeps } from "../deps.ts";
import { HonoroitError } from "../errors.ts";
import type { RoomId, UserId } from "../ids.ts";
import type { Ticket } from "../ticket.ts";
import { automaticMessage } from "./notices.ts";
import { ensureOpenTicket } from "./open-ticket.ts";

/**
 * An operator starts a request with someone (`!ho start MXID`): a direct room with them, a
 * ticket and its thread. Keyed by the command's event: the room is created under that key
 * (so a crash between creating and recording it finds the same room), then recorded, so a
 * replay creates no second room.
 */
export async function startTicket(deps: HelpdeskDeps, customer: UserId, key: string): Promise<Ticket> {
  let room = (await deps.store.ledger.get(key)) as RoomId | undefined;
  if (room === undefined) {
    const [open] = await deps.store.tickets.list({ customer, status: "open", limit: 1 });
    if (open !== undefined) {
      throw new HonoroitError("CONFLICT", `${customer} already has an open request, #${open.id}: ${open.title ?? ""}`);
    }
    room = await deps.messenger.createDirectRoom(customer, key);
    await deps.store.ledger.put(key, room, deps.clock.now());
  }
  const started = room;
  // In the new room's order: a customer who answers at once finds the request already open
  // (and is not greeted on top of text.start).
  return deps.rooms.run(started, async () => {
    const ticket = await ensureOpenTicket(deps, started, customer, { greet: false });
    await automaticMessage(deps, started, deps.options.get("text.start"), `start:${ticket.id}`);
    return ticket;
  });
}
