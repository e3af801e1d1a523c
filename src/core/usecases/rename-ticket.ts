import type { HelpdeskDeps } from "../deps.ts";
import { HonoroitError } from "../errors.ts";
import type { TicketId } from "../ids.ts";
import type { Ticket } from "../ticket.ts";
import { rootMessage } from "./open-ticket.ts";

/**
 * A new title with the request's status prefix in front. A status prefix the operator typed
 * (either one, any case) is replaced rather than doubled: the prefix tells the status, and
 * renaming does not change it. Undefined when nothing is left but the prefix.
 */
export function prefixedTitle(text: string, prefix: string, statusPrefixes: readonly string[]): string | undefined {
  let rest = text.trim();
  const typed = [...statusPrefixes].sort((a, b) => b.length - a.length).find((p) => startsWithWord(rest, p));
  if (typed !== undefined) rest = rest.slice(typed.length).trim();
  return rest === "" ? undefined : `${prefix} ${rest}`;
}

/** Whether `text` begins with `prefix` as a whole word ("[OPEN]x" does; "Tickets" for "Ticket" does not). */
function startsWithWord(text: string, prefix: string): boolean {
  if (prefix === "" || text.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) return false;
  const next = text.charAt(prefix.length);
  return next === "" || /\s/.test(next) || !/[\p{L}\p{N}]$/u.test(prefix);
}

/**
 * Changes a thread's title (`!ho rename TEXT`), keeping the request's status prefix: `[OPEN]`
 * while it is open, `[DONE]` once closed (the options text.prefix.open and text.prefix.done).
 * It runs in the customer room's queue, as a close does, so the prefix written is the one of
 * the status the request has when the title changes.
 */
export async function renameTicket(deps: HelpdeskDeps, id: TicketId, typed: string, key: string): Promise<Ticket> {
  const usage = "rename needs the new title, e.g. `rename Printer on fire`";
  if (typed.trim() === "") throw new HonoroitError("BAD_ARGUMENT", usage);
  const found = await deps.store.tickets.get(id);
  if (found === undefined) throw new HonoroitError("NOT_FOUND", `there is no request #${id}`);
  return deps.rooms.run(found.customerRoom, async () => {
    const ticket = await deps.store.tickets.get(id);
    if (ticket === undefined) throw new HonoroitError("NOT_FOUND", `there is no request #${id}`);
    const { threadRoot } = ticket;
    if (threadRoot === null) throw new HonoroitError("CONFLICT", `request #${id} has no thread yet`);
    const open = deps.options.get("text.prefix.open");
    const done = deps.options.get("text.prefix.done");
    const title = prefixedTitle(typed, ticket.status === "open" ? open : done, [open, done]);
    if (title === undefined) throw new HonoroitError("BAD_ARGUMENT", usage);
    await deps.messenger.edit(deps.operatorsRoom, threadRoot, rootMessage(ticket, title), key);
    await deps.store.tickets.setTitle(ticket.id, title);
    return { ...ticket, title };
  });
}
