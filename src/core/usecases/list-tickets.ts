import type { TicketStore } from "../ports.ts";
import type { Ticket, TicketFilter } from "../ticket.ts";

/** Tickets matching a filter, to be read while they are shown. */
export interface TicketListing {
  /** The matching tickets, newest first, read from the store anew on each call. */
  tickets(): AsyncIterable<Ticket>;
  /** How many match in all when a limit may cut the listing short (undefined without a limit). */
  readonly total: number | undefined;
}

/** Lists tickets matching a filter, newest first, with the total count when a limit applies. */
export async function listTickets(store: TicketStore, filter: TicketFilter): Promise<TicketListing> {
  const total = filter.limit === undefined ? undefined : await store.count(filter);
  return { tickets: () => store.stream(filter), total };
}
