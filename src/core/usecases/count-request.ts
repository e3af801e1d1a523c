import type { UserId } from "../ids.ts";
import { serverOf } from "../ids.ts";
import { ordinal } from "../ordinal.ts";
import type { Clock, RequestCount, Store } from "../ports.ts";

export interface CountedRequest extends RequestCount {
  readonly customer: UserId;
  readonly homeserver: string;
  /** e.g. `3rd request from example.com (1st by @alice:example.com)`. */
  readonly summary: string;
}

/**
 * Counts a request for a user and their homeserver without contacting them (`count`). With a
 * `key` (the chat command's event), the count is recorded under it in the same transaction, so
 * a replay after a crash reports the same count instead of counting again.
 */
export async function countRequest(deps: { readonly store: Pick<Store, "ledger" | "transaction">; readonly clock: Clock }, customer: UserId, key?: string): Promise<CountedRequest> {
  const known = key === undefined ? undefined : await deps.store.ledger.get(key);
  const counted = known !== undefined
    ? (JSON.parse(known) as RequestCount)
    : await deps.store.transaction(async (tx) => {
      const count = await tx.tickets.countRequest(customer);
      if (key !== undefined) await tx.ledger.put(key, JSON.stringify(count), deps.clock.now());
      return count;
    });
  const homeserver = serverOf(customer);
  return {
    customerOrdinal: counted.customerOrdinal,
    homeserverOrdinal: counted.homeserverOrdinal,
    customer,
    homeserver,
    summary: `${ordinal(counted.homeserverOrdinal)} request from ${homeserver} (${ordinal(counted.customerOrdinal)} by ${customer})`,
  };
}
