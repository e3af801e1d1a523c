import { parseDuration } from "../../core/duration.ts";
import { HonoroitError } from "../../core/errors.ts";
import { parseUserId } from "../../core/ids.ts";
import type { Ticket, TicketFilter } from "../../core/ticket.ts";
import { listTickets } from "../../core/usecases/list-tickets.ts";
import type { CommandInput } from "../command.ts";
import type { CliContext } from "../context.ts";
import type { Output } from "../output.ts";

const STATUSES = ["open", "closed", "all"] as const;

/** Turns `tickets list` options into a store filter; rejects bad values with a clear message. */
export function parseListOptions(options: Readonly<Record<string, unknown>>, now: Date): TicketFilter {
  const status = typeof options["status"] === "string" ? options["status"] : "open";
  if (!(STATUSES as readonly string[]).includes(status)) {
    throw new HonoroitError("BAD_ARGUMENT", `--status must be one of ${STATUSES.join(", ")} (got "${status}")`);
  }
  const limitText = typeof options["limit"] === "string" ? options["limit"] : "100";
  if (!/^\d+$/.test(limitText)) throw new HonoroitError("BAD_ARGUMENT", `--limit must be a whole number (got "${limitText}")`);
  const limit = Number(limitText);
  const filter: { -readonly [K in keyof TicketFilter]: TicketFilter[K] } = { status: status as TicketFilter["status"] & string };
  if (limit > 0) filter.limit = limit;
  if (typeof options["customer"] === "string") filter.customer = parseUserId(options["customer"]);
  if (typeof options["since"] === "string") {
    const ms = parseDuration(options["since"]);
    if (ms === 0) throw new HonoroitError("BAD_ARGUMENT", `--since must be longer than 0 (e.g. 7d)`);
    filter.since = new Date(now.getTime() - ms);
  }
  return filter;
}

/** The JSON form of a ticket, stable for scripts. */
export function ticketJson(t: Ticket): Record<string, unknown> {
  return {
    id: t.id,
    status: t.status,
    customer: t.customer,
    homeserver: t.homeserver,
    customerRoom: t.customerRoom,
    threadRoot: t.threadRoot,
    title: t.title,
    openedAt: t.openedAt.toISOString(),
    closedAt: t.closedAt?.toISOString() ?? null,
    lastActivityAt: t.lastActivityAt.toISOString(),
    closeReason: t.closeReason,
    redmineIssueId: t.redmineIssueId,
  };
}

function shortTime(d: Date): string {
  return d.toISOString().slice(0, 16).replace("T", " ");
}

/** `honoroit tickets list`, as declared in the command table (index.ts). */
export async function run({ options }: CommandInput, ctx: CliContext): Promise<Output> {
  const filter = parseListOptions(options, ctx.clock.now());
  const store = await ctx.store({ mustExist: true });
  const listing = await listTickets(store.tickets, filter);
  // Read while printed: `--limit 0` over years of requests holds no more than one page.
  return {
    kind: "stream",
    columns: ["ID", "STATUS", "CUSTOMER", "OPENED", "LAST ACTIVITY", "TITLE"],
    rows: async function* () {
      for await (const t of listing.tickets()) {
        yield [`#${t.id}`, t.status, t.customer, shortTime(t.openedAt), shortTime(t.lastActivityAt), t.title ?? ""];
      }
    },
    empty: "no tickets match",
    ...(listing.total !== undefined && filter.limit !== undefined && listing.total > filter.limit
      ? { footer: `showing ${filter.limit} of ${listing.total}; use --limit 0 for all` }
      : {}),
    json: async function* () {
      for await (const t of listing.tickets()) yield ticketJson(t);
    },
  };
}
