import type { EventId, RoomId, TicketId, UserId } from "./ids.ts";

export type TicketStatus = "open" | "closed";

/** One customer request: a customer room on one side, a thread in the operators room on the other. */
export interface Ticket {
  readonly id: TicketId;
  readonly customer: UserId;
  /** The customer's homeserver (server part of `customer`), kept for counting. */
  readonly homeserver: string;
  readonly customerRoom: RoomId;
  /** The thread root in the operators room; absent until the root has been posted. */
  readonly threadRoot: EventId | null;
  readonly status: TicketStatus;
  readonly title: string | null;
  readonly openedAt: Date;
  readonly closedAt: Date | null;
  readonly lastActivityAt: Date;
  /** How the ticket was closed: `operator`, `auto`, `cli`, `redmine`, `customer-left`. */
  readonly closeReason: string | null;
  readonly redmineIssueId: number | null;
  /** When the customer was greeted, or found to need no greeting; null while one is due. */
  readonly greetedAt: Date | null;
}

export interface NewTicket {
  readonly customer: UserId;
  readonly customerRoom: RoomId;
  readonly openedAt: Date;
}

export interface TicketFilter {
  readonly status?: TicketStatus | "all";
  readonly customer?: UserId;
  /** Only tickets opened at or after this moment. */
  readonly since?: Date;
  readonly limit?: number;
}
