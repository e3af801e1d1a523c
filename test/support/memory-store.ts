import { HonoroitError } from "../../src/core/errors.ts";
import { serverOf } from "../../src/core/ids.ts";
import type { EventId, RoomId, TicketId, UserId } from "../../src/core/ids.ts";
import type {
  Clock,
  MigrationInfo,
  OpenedTicket,
  OutboxItem,
  RelayRecord,
  RequestCount,
  Store,
} from "../../src/core/ports.ts";
import type { NewTicket, Ticket, TicketFilter } from "../../src/core/ticket.ts";
import { MIGRATIONS } from "../../src/adapters/storage/migrations.ts";

interface StoredTicket {
  ticket: Ticket;
  readonly customerOrdinal: number;
  readonly homeserverOrdinal: number;
}

/**
 * The whole `Store` in memory, for unit tests of the core. It passes the same contract suite
 * as the SQL stores (test/storage/store-contract.ts), so what works here works there.
 */
export class MemoryStore implements Store {
  readonly dialect = "memory";
  readonly #clock: Clock;
  readonly #tickets = new Map<TicketId, StoredTicket>();
  readonly #counters = new Map<string, number>();
  readonly #relays = new Map<EventId, RelayRecord>();
  readonly #handled = new Map<EventId, Date>();
  readonly #sent = new Map<string, { readonly event: EventId; readonly at: Date }>();
  readonly #options = new Map<string, string>();
  readonly #kv = new Map<string, Map<string, string>>();
  readonly #notes = new Set<string>();
  readonly #outbox = new Map<number, OutboxItem>();
  readonly #applied = new Map<number, Date>();
  #syncToken: string | undefined;
  #nextTicket = 1;
  #nextOutbox = 1;

  constructor(options: { clock?: Clock } = {}) {
    this.#clock = options.clock ?? { now: () => new Date() };
  }

  /** Every ticket, for assertions in tests. */
  get tickets(): readonly Ticket[] {
    return [...this.#tickets.values()].map((t) => t.ticket);
  }

  // --- migrations -----------------------------------------------------------------------

  migrate(): Promise<MigrationInfo[]> {
    return this.#call(() => {
      const applied: MigrationInfo[] = [];
      for (const m of MIGRATIONS) {
        if (this.#applied.has(m.version)) continue;
        const appliedAt = this.#clock.now();
        this.#applied.set(m.version, appliedAt);
        applied.push({ version: m.version, name: m.name, appliedAt });
      }
      return applied;
    });
  }

  migrationStatus(): Promise<MigrationInfo[]> {
    return this.#call(() =>
      MIGRATIONS.map((m) => ({ version: m.version, name: m.name, appliedAt: this.#applied.get(m.version) ?? null })),
    );
  }

  // --- tickets --------------------------------------------------------------------------

  openTicket(input: NewTicket): Promise<OpenedTicket> {
    return this.#call(() => {
      const existing = this.#openIn(input.customerRoom);
      if (existing !== undefined) {
        return {
          ticket: existing.ticket,
          created: false,
          customerOrdinal: existing.customerOrdinal,
          homeserverOrdinal: existing.homeserverOrdinal,
        };
      }
      const homeserver = serverOf(input.customer);
      const count = this.#count(input.customer, homeserver);
      const id = this.#nextTicket++ as TicketId;
      const ticket: Ticket = {
        id,
        customer: input.customer,
        homeserver,
        customerRoom: input.customerRoom,
        threadRoot: null,
        status: "open",
        title: null,
        openedAt: new Date(input.openedAt.getTime()),
        closedAt: null,
        lastActivityAt: new Date(input.openedAt.getTime()),
        closeReason: null,
        redmineIssueId: null,
      };
      this.#tickets.set(id, { ticket, ...count });
      return { ticket, created: true, ...count };
    });
  }

  countRequest(customer: UserId): Promise<RequestCount> {
    return this.#call(() => this.#count(customer, serverOf(customer)));
  }

  getTicket(id: TicketId): Promise<Ticket | undefined> {
    return this.#call(() => this.#tickets.get(id)?.ticket);
  }

  findOpenByRoom(room: RoomId): Promise<Ticket | undefined> {
    return this.#call(() => this.#openIn(room)?.ticket);
  }

  findByThread(root: EventId): Promise<Ticket | undefined> {
    return this.#call(() => this.#newestFirst().find((t) => t.threadRoot === root));
  }

  findByRedmineIssue(issueId: number): Promise<Ticket | undefined> {
    return this.#call(() => this.#newestFirst().find((t) => t.redmineIssueId === issueId));
  }

  listTickets(filter: TicketFilter): Promise<Ticket[]> {
    return this.#call(() => {
      const matching = this.#newestFirst().filter((t) => matches(t, filter));
      return filter.limit === undefined ? matching : matching.slice(0, Math.max(0, Math.floor(filter.limit)));
    });
  }

  countTickets(filter: TicketFilter): Promise<number> {
    return this.#call(() => this.tickets.filter((t) => matches(t, filter)).length);
  }

  setThreadRoot(id: TicketId, root: EventId): Promise<void> {
    return this.#update(id, (t) => ({ ...t, threadRoot: root }));
  }

  setTitle(id: TicketId, title: string): Promise<void> {
    return this.#update(id, (t) => ({ ...t, title }));
  }

  setRedmineIssue(id: TicketId, issueId: number): Promise<void> {
    return this.#update(id, (t) => ({ ...t, redmineIssueId: issueId }));
  }

  touch(id: TicketId, at: Date): Promise<void> {
    return this.#update(id, (t) => ({
      ...t,
      lastActivityAt: new Date(Math.max(t.lastActivityAt.getTime(), at.getTime())),
    }));
  }

  closeTicket(id: TicketId, at: Date, reason: string): Promise<Ticket | undefined> {
    return this.#call(() => {
      const stored = this.#tickets.get(id);
      if (stored?.ticket.status !== "open") return undefined;
      stored.ticket = { ...stored.ticket, status: "closed", closedAt: new Date(at.getTime()), closeReason: reason };
      return stored.ticket;
    });
  }

  listIdleTickets(before: Date, limit: number): Promise<Ticket[]> {
    return this.#call(() =>
      this.tickets
        .filter((t) => t.status === "open" && t.lastActivityAt.getTime() < before.getTime())
        .sort((a, b) => a.lastActivityAt.getTime() - b.lastActivityAt.getTime() || a.id - b.id)
        .slice(0, Math.max(0, Math.floor(limit))),
    );
  }

  // --- relays, journal, sync ------------------------------------------------------------

  recordRelay(record: RelayRecord): Promise<void> {
    return this.#call(() => {
      this.#mustExist(record.ticketId);
      if (!this.#relays.has(record.sourceEvent)) this.#relays.set(record.sourceEvent, { ...record });
    });
  }

  findRelayBySource(source: EventId): Promise<RelayRecord | undefined> {
    return this.#call(() => this.#relays.get(source));
  }

  findRelayByTarget(target: EventId): Promise<RelayRecord | undefined> {
    return this.#call(() => [...this.#relays.values()].find((r) => r.targetEvent === target));
  }

  isHandled(event: EventId): Promise<boolean> {
    return this.#call(() => this.#handled.has(event));
  }

  markHandled(event: EventId, at: Date): Promise<void> {
    return this.#call(() => {
      if (!this.#handled.has(event)) this.#handled.set(event, new Date(at.getTime()));
    });
  }

  pruneHandled(before: Date): Promise<number> {
    return this.#call(() => prune(this.#handled, (at) => at.getTime() < before.getTime()));
  }

  sentEvent(key: string): Promise<EventId | undefined> {
    return this.#call(() => this.#sent.get(key)?.event);
  }

  recordSent(key: string, event: EventId, at: Date): Promise<void> {
    return this.#call(() => {
      if (!this.#sent.has(key)) this.#sent.set(key, { event, at: new Date(at.getTime()) });
    });
  }

  pruneSent(before: Date): Promise<number> {
    return this.#call(() => prune(this.#sent, (entry) => entry.at.getTime() < before.getTime()));
  }

  getSyncToken(): Promise<string | undefined> {
    return this.#call(() => this.#syncToken);
  }

  setSyncToken(token: string): Promise<void> {
    return this.#call(() => {
      this.#syncToken = token;
    });
  }

  // --- options and key-value ------------------------------------------------------------

  getOptions(): Promise<ReadonlyMap<string, string>> {
    return this.#call(() => new Map([...this.#options].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  }

  setOption(key: string, value: string): Promise<void> {
    return this.#call(() => {
      this.#options.set(key, value);
    });
  }

  deleteOption(key: string): Promise<void> {
    return this.#call(() => {
      this.#options.delete(key);
    });
  }

  kvGet(namespace: string, key: string): Promise<string | undefined> {
    return this.#call(() => this.#kv.get(namespace)?.get(key));
  }

  kvSet(namespace: string, key: string, value: string): Promise<void> {
    return this.#call(() => {
      let area = this.#kv.get(namespace);
      if (area === undefined) {
        area = new Map();
        this.#kv.set(namespace, area);
      }
      area.set(key, value);
    });
  }

  kvDelete(namespace: string, key: string): Promise<void> {
    return this.#call(() => {
      this.#kv.get(namespace)?.delete(key);
    });
  }

  kvList(namespace: string): Promise<ReadonlyMap<string, string>> {
    return this.#call(() => new Map(this.#kv.get(namespace)));
  }

  // --- Redmine sync ---------------------------------------------------------------------

  isNoteSynced(ticketId: TicketId, noteId: number): Promise<boolean> {
    return this.#call(() => this.#notes.has(`${ticketId}/${noteId}`));
  }

  markNoteSynced(ticketId: TicketId, noteId: number): Promise<void> {
    return this.#call(() => {
      this.#mustExist(ticketId);
      this.#notes.add(`${ticketId}/${noteId}`);
    });
  }

  enqueueOutbox(ticketId: TicketId, kind: string, payload: string, at: Date): Promise<number> {
    return this.#call(() => {
      this.#mustExist(ticketId);
      const id = this.#nextOutbox++;
      this.#outbox.set(id, { id, ticketId, kind, payload, attempts: 0, notBefore: new Date(at.getTime()), lastError: null });
      return id;
    });
  }

  dueOutbox(now: Date, limit: number): Promise<OutboxItem[]> {
    return this.#call(() =>
      [...this.#outbox.values()]
        .filter((item) => item.notBefore.getTime() <= now.getTime())
        .sort((a, b) => a.id - b.id)
        .slice(0, Math.max(0, Math.floor(limit))),
    );
  }

  completeOutbox(id: number): Promise<void> {
    return this.#call(() => {
      this.#outbox.delete(id);
    });
  }

  retryOutboxLater(id: number, notBefore: Date, error: string): Promise<void> {
    return this.#call(() => {
      const item = this.#outbox.get(id);
      if (item === undefined) return;
      this.#outbox.set(id, { ...item, attempts: item.attempts + 1, notBefore: new Date(notBefore.getTime()), lastError: error });
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  // --- helpers --------------------------------------------------------------------------

  #call<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve) => {
      resolve(work());
    });
  }

  #openIn(room: RoomId): StoredTicket | undefined {
    return [...this.#tickets.values()].find((t) => t.ticket.customerRoom === room && t.ticket.status === "open");
  }

  #newestFirst(): Ticket[] {
    return [...this.tickets].sort((a, b) => b.openedAt.getTime() - a.openedAt.getTime() || b.id - a.id);
  }

  #count(customer: UserId, homeserver: string): RequestCount {
    const bump = (key: string): number => {
      const next = (this.#counters.get(key) ?? 0) + 1;
      this.#counters.set(key, next);
      return next;
    };
    return { customerOrdinal: bump(`user ${customer}`), homeserverOrdinal: bump(`server ${homeserver}`) };
  }

  #mustExist(id: TicketId): StoredTicket {
    const stored = this.#tickets.get(id);
    if (stored === undefined) throw new HonoroitError("NOT_FOUND", `no ticket #${id}`);
    return stored;
  }

  #update(id: TicketId, change: (t: Ticket) => Ticket): Promise<void> {
    return this.#call(() => {
      const stored = this.#mustExist(id);
      stored.ticket = change(stored.ticket);
    });
  }
}

/** Deletes the entries `old` picks; returns how many. */
function prune<K, V>(map: Map<K, V>, old: (value: V) => boolean): number {
  let n = 0;
  for (const [key, value] of map) {
    if (old(value)) {
      map.delete(key);
      n++;
    }
  }
  return n;
}

function matches(t: Ticket, filter: TicketFilter): boolean {
  if (filter.status !== undefined && filter.status !== "all" && t.status !== filter.status) return false;
  if (filter.customer !== undefined && t.customer !== filter.customer) return false;
  if (filter.since !== undefined && t.openedAt.getTime() < filter.since.getTime()) return false;
  return true;
}
