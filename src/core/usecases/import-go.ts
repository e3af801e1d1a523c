// Switching from the Go bot: its state (account data, read and unsealed by an adapter, and the
// thread roots of the operators room) becomes our tickets, ordinals counters, relay records,
// chat options, Redmine links and synced-note markers. One transaction: all of it or nothing.
// Idempotent: what is already here is counted as such and left alone.
import type { EventId, RoomId, UserId } from "../ids.ts";
import { formatOption, isOptionKey, parseOption } from "../options.ts";
import { messageOf } from "../errors.ts";
import type { Store, StoreScope } from "../ports.ts";
import type { ImportedTicket } from "../ports/storage.ts";

/** What the Go bot kept in its account data, unsealed. */
export interface GoAccountData {
  /** Requests open in the Go bot: thread root → customer room. */
  readonly openThreads: ReadonlyMap<EventId, RoomId>;
  /** Redmine links: thread root → issue id. */
  readonly issues: ReadonlyMap<EventId, number>;
  /** Redmine notes already synced, by thread root. */
  readonly notes: ReadonlyMap<EventId, readonly number[]>;
  /** Chat options as the Go bot stored them. */
  readonly options: ReadonlyMap<string, string>;
  /** Entries not understood, with why. */
  readonly skipped: readonly Skipped[];
}

/** A customer's message the Go bot copied into a thread. */
export interface GoForwarded {
  /** The copy in the operators room. */
  readonly threadEvent: EventId;
  /** The customer's original, in the customer room. */
  readonly sourceEvent: EventId;
  /** Who wrote the original, when the copy names them. */
  readonly sender: UserId | null;
}

/** A thread root the Go bot posted in the operators room, as found there. */
export interface GoThreadRoot {
  readonly eventId: EventId;
  readonly customer: UserId;
  readonly homeserver: string;
  /** The title now (after edits: `[DONE] …` once closed, or a rename). */
  readonly title: string;
  /** The title as first posted. */
  readonly firstTitle: string;
  /** Whether the root was ever edited (closing edits it). */
  readonly edited: boolean;
  readonly openedAt: Date;
  readonly lastActivityAt: Date;
  /** When an edit first gave it the done prefix. */
  readonly closedAt: Date | null;
  readonly forwarded: readonly GoForwarded[];
}

/** The operators room, scanned once. */
export interface GoOperatorsRoom {
  readonly roots: readonly GoThreadRoot[];
  /** Events that could not be read (encrypted). */
  readonly unreadable: number;
  readonly events: number;
}

/** Something not imported, and why. */
export interface Skipped {
  readonly what: string;
  readonly reason: string;
}

/** The customer of an open request whose thread root could not be read, looked up another way. */
export type CustomerLookup = (room: RoomId) => Promise<UserId | undefined>;

export interface GoImportInput {
  readonly account: GoAccountData;
  readonly room: GoOperatorsRoom;
  readonly operatorsRoom: RoomId;
  readonly lookupCustomer: CustomerLookup;
  /** The sync position read with the account data; saved when this database has none. */
  readonly syncPosition?: string;
  readonly dryRun: boolean;
}

/** Counts of one kind: written now, and found already here. */
export interface Tally {
  imported: number;
  unchanged: number;
}

export interface GoImportSummary {
  readonly dryRun: boolean;
  readonly openTickets: Tally;
  readonly closedTickets: Tally;
  readonly counters: Tally;
  readonly relays: Tally;
  readonly options: Tally;
  readonly redmineLinks: Tally;
  readonly notes: Tally;
  readonly syncPosition: "saved" | "kept";
  readonly skipped: readonly Skipped[];
  /** Events of the operators room read, and those that could not be. */
  readonly events: number;
  readonly unreadableEvents: number;
}

/** Rolls a dry run's transaction back once its counts are known. */
class DryRunDone extends Error {
  constructor(readonly summary: GoImportSummary) {
    super("dry run");
  }
}

const DEFAULT_DONE_PREFIX = "[DONE]";

/** Imports the Go bot's state; a dry run counts the same and rolls back. */
export async function importGoState(store: Store, input: GoImportInput): Promise<GoImportSummary> {
  const tickets = await planTickets(input);
  try {
    return await store.transaction(async (tx) => {
      const summary = await write(tx, input, tickets.planned, tickets.skipped);
      if (input.dryRun) throw new DryRunDone(summary);
      return summary;
    });
  } catch (error) {
    if (error instanceof DryRunDone) return error.summary;
    throw error;
  }
}

interface Planned {
  readonly ticket: ImportedTicket;
  readonly forwarded: readonly GoForwarded[];
}

/** Which roots become which tickets, with ordinals counted in the order they were opened. */
async function planTickets(input: GoImportInput): Promise<{ planned: Planned[]; skipped: Skipped[] }> {
  const skipped: Skipped[] = [];
  const donePrefix = input.account.options.get("text.prefix.done") || DEFAULT_DONE_PREFIX;
  const roots = [...input.room.roots].sort((a, b) => a.openedAt.getTime() - b.openedAt.getTime());
  const byUser = new Map<string, number>();
  const byServer = new Map<string, number>();
  const planned: Planned[] = [];
  const seen = new Set<EventId>();
  for (const root of roots) {
    const customerOrdinal = bump(byUser, root.customer);
    const homeserverOrdinal = bump(byServer, root.homeserver);
    seen.add(root.eventId);
    const room = input.account.openThreads.get(root.eventId);
    // `!ho count` posts a root already done and never edits it: a counted request, not a ticket.
    if (room === undefined && !root.edited && root.firstTitle.startsWith(donePrefix)) continue;
    const issue = input.account.issues.get(root.eventId) ?? null;
    planned.push({
      ticket: {
        customer: root.customer,
        customerRoom: room ?? ("" as RoomId),
        threadRoot: root.eventId,
        status: room === undefined ? "closed" : "open",
        title: root.title,
        openedAt: root.openedAt,
        lastActivityAt: root.lastActivityAt,
        closedAt: room === undefined ? (root.closedAt ?? root.lastActivityAt) : null,
        redmineIssueId: issue,
        customerOrdinal,
        homeserverOrdinal,
      },
      forwarded: room === undefined ? [] : root.forwarded,
    });
  }
  // Open requests whose root the scan could not read (an encrypted operators room, a redaction).
  for (const [root, room] of input.account.openThreads) {
    if (seen.has(root)) continue;
    let customer: UserId | undefined;
    try {
      customer = await input.lookupCustomer(room);
    } catch (error) {
      skipped.push({ what: `open request in ${room} (thread ${root})`, reason: `its thread root is unreadable and its room could not be read: ${messageOf(error)}` });
      continue;
    }
    if (customer === undefined) {
      skipped.push({ what: `open request in ${room} (thread ${root})`, reason: "its thread root is unreadable and no customer is left in its room" });
      continue;
    }
    planned.push({
      ticket: {
        customer,
        customerRoom: room,
        threadRoot: root,
        status: "open",
        title: `request from ${customer} (imported)`,
        openedAt: new Date(0),
        lastActivityAt: new Date(0),
        closedAt: null,
        redmineIssueId: input.account.issues.get(root) ?? null,
        customerOrdinal: 0,
        homeserverOrdinal: 0,
      },
      forwarded: [],
    });
  }
  return { planned, skipped };
}

function bump(counts: Map<string, number>, key: string): number {
  const next = (counts.get(key) ?? 0) + 1;
  counts.set(key, next);
  return next;
}

const tally = (): Tally => ({ imported: 0, unchanged: 0 });

async function write(tx: StoreScope, input: GoImportInput, planned: readonly Planned[], skippedTickets: readonly Skipped[]): Promise<GoImportSummary> {
  const skipped: Skipped[] = [...input.account.skipped, ...skippedTickets];
  const openTickets = tally();
  const closedTickets = tally();
  const relays = tally();
  const redmineLinks = tally();
  const notes = tally();
  for (const { ticket, forwarded } of planned) {
    const result = await tx.imports.insert(ticket);
    if (result.kind === "conflict") {
      skipped.push({ what: `request ${ticket.threadRoot} of ${ticket.customer}`, reason: `its room already has open request #${result.existing} here` });
      continue;
    }
    const kindTally = ticket.status === "open" ? openTickets : closedTickets;
    kindTally[result.kind === "inserted" ? "imported" : "unchanged"]++;
    if (ticket.redmineIssueId !== null) redmineLinks[result.kind === "inserted" ? "imported" : "unchanged"]++;
    for (const note of input.account.notes.get(ticket.threadRoot) ?? []) {
      if (await tx.notes.isSynced(result.ticket.id, note)) notes.unchanged++;
      else {
        await tx.notes.markSynced(result.ticket.id, note);
        notes.imported++;
      }
    }
    for (const copy of forwarded) {
      if ((await tx.relays.bySource(copy.sourceEvent)) !== undefined) {
        relays.unchanged++;
        continue;
      }
      await tx.relays.record({
        ticketId: result.ticket.id,
        kind: "customer-to-thread",
        sourceRoom: ticket.customerRoom,
        sourceEvent: copy.sourceEvent,
        sourceSender: copy.sender,
        targetRoom: input.operatorsRoom,
        targetEvent: copy.threadEvent,
      });
      relays.imported++;
    }
  }
  const roots = new Set(planned.map((p) => p.ticket.threadRoot));
  for (const [root] of input.account.notes) {
    if (!roots.has(root)) skipped.push({ what: `Redmine note markers of thread ${root}`, reason: "no request with that thread was found" });
  }

  const counters = tally();
  const users = new Map<string, number>();
  const servers = new Map<string, number>();
  for (const root of input.room.roots) {
    bump(users, root.customer);
    bump(servers, root.homeserver);
  }
  for (const [scope, counts] of [["user", users], ["server", servers]] as const) {
    for (const [key, count] of counts) counters[(await tx.imports.raiseCount(scope, key, count)) ? "imported" : "unchanged"]++;
  }

  const options = await importOptions(tx, input.account.options, skipped);
  let syncPosition: "saved" | "kept" = "kept";
  if (input.syncPosition !== undefined && (await tx.sync.getToken()) === undefined) {
    await tx.sync.setToken(input.syncPosition);
    syncPosition = "saved";
  }
  return {
    dryRun: input.dryRun,
    openTickets,
    closedTickets,
    counters,
    relays,
    options,
    redmineLinks,
    notes,
    syncPosition,
    skipped,
    events: input.room.events,
    unreadableEvents: input.room.unreadable,
  };
}

/** Keys the Go bot keeps beside its options, meaningless here. */
const GO_INTERNAL_KEYS: Readonly<Record<string, string>> = {
  mautrix015migration: "the Go bot's own upgrade marker",
  "text.noencryption": "an option the Go bot no longer has",
};

/** Each option through our own validation; never overwrites an option already set here. */
async function importOptions(tx: StoreScope, goOptions: ReadonlyMap<string, string>, skipped: Skipped[]): Promise<Tally> {
  const result = tally();
  const current = await tx.options.all();
  for (const [rawKey, value] of goOptions) {
    const key = rawKey.toLowerCase();
    if (value.trim() === "") continue; // the Go bot's "use the default"
    const internal = GO_INTERNAL_KEYS[key];
    if (internal !== undefined) {
      skipped.push({ what: `option ${key}`, reason: internal });
      continue;
    }
    if (!isOptionKey(key)) {
      skipped.push({ what: `option ${key}`, reason: "not an option here" });
      continue;
    }
    let stored: string;
    try {
      stored = formatOption(key, parseOption(key, value.trim()));
    } catch (error) {
      skipped.push({ what: `option ${key} = ${JSON.stringify(value)}`, reason: messageOf(error) });
      continue;
    }
    const here = current.get(key);
    if (here === stored) result.unchanged++;
    else if (here !== undefined) skipped.push({ what: `option ${key} = ${JSON.stringify(value)}`, reason: `already set here to ${JSON.stringify(here)}` });
    else {
      await tx.options.set(key, stored);
      result.imported++;
    }
  }
  return result;
}
