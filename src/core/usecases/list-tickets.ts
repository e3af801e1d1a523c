import type { TicketStore } from "../ports.ts";
import type { Ticket, TicketFilter } from "../ticket.ts";

export interface TicketPage {
  readonly tickets: readonly Ticket[];
  /** How many match the filter in all (the page may hold fewer). */
  readonly total: number;
}

/** Lists tickets matching a filter, newest first, with the total count. */
export async function listTickets(store: TicketStore, filter: TicketFilter): Promise<TicketPage> {
  const [tickets, total] = await Promise.all([store.list(filter), store.count(filter)]);
  return { tickets, total };
}
