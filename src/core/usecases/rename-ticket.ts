import type { HelpdeskDeps } from "../deps.ts";
import { HonoroitError } from "../errors.ts";
import type { Ticket } from "../ticket.ts";
import { rootMessage } from "./open-ticket.ts";

/** Changes a thread's title (`!ho rename TEXT`). */
export async function renameTicket(deps: HelpdeskDeps, ticket: Ticket, title: string, key: string): Promise<void> {
  const text = title.trim();
  if (text === "") throw new HonoroitError("BAD_ARGUMENT", "rename needs the new title, e.g. `rename Printer on fire`");
  if (ticket.threadRoot === null) throw new HonoroitError("CONFLICT", `request #${ticket.id} has no thread yet`);
  await deps.messenger.edit(deps.operatorsRoom, ticket.threadRoot, rootMessage(ticket, text), key);
  await deps.store.tickets.setTitle(ticket.id, text);
}
