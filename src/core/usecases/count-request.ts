import type { UserId } from "../ids.ts";
import { serverOf } from "../ids.ts";
import { ordinal } from "../ordinal.ts";
import type { RequestCount, TicketStore } from "../ports.ts";

export interface CountedRequest extends RequestCount {
  readonly customer: UserId;
  readonly homeserver: string;
  /** e.g. `3rd request from example.com (1st by @alice:example.com)`. */
  readonly summary: string;
}

/** Counts a request for a user and their homeserver without contacting them (`count`). */
export async function countRequest(store: TicketStore, customer: UserId): Promise<CountedRequest> {
  const counted = await store.countRequest(customer);
  const homeserver = serverOf(customer);
  return {
    ...counted,
    customer,
    homeserver,
    summary: `${ordinal(counted.homeserverOrdinal)} request from ${homeserver} (${ordinal(counted.customerOrdinal)} by ${customer})`,
  };
}
