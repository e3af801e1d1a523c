// Past tickets written through the store, as years of use would have left them.
import { openStore } from "../src/adapters/storage/open-store.ts";
import { parseEventId, parseRoomId, parseUserId } from "../src/core/ids.ts";
import { ordinal } from "../src/core/ordinal.ts";

export interface SeedOptions {
  /** How many tickets. */
  readonly tickets: number;
  /** This many of the newest stay open; the rest are closed. Default 0. */
  readonly open?: number;
  /** Also record each ticket's relayed messages and handled events, as serving them did. Default false. */
  readonly traffic?: boolean;
}

const USERS = 300;
const SERVERS = ["localhost", ...Array.from({ length: 29 }, (_, i) => `hs${i + 1}.example.org`)];
const START = Date.UTC(2020, 0, 1);
const STEP_MS = 10 * 60_000;

/**
 * Creates (or extends) a migrated SQLite database at `file` with past tickets from 300
 * customers on 30 homeservers, oldest first, each with a title and a thread root.
 */
export async function seedTickets(file: string, opts: SeedOptions): Promise<void> {
  const store = await openStore({ dialect: "sqlite", dsn: file });
  try {
    await store.migrate();
    const openFrom = opts.tickets - (opts.open ?? 0);
    for (let i = 0; i < opts.tickets; i++) {
      const server = SERVERS[i % SERVERS.length] ?? "localhost";
      const customer = parseUserId(`@customer${i % USERS}:${server}`);
      const room = parseRoomId(`!seed${i}:${server}`);
      const openedAt = new Date(START + i * STEP_MS);
      // One transaction per ticket: what serve commits for a request, in one go.
      await store.transaction(async (tx) => {
        const { ticket, customerOrdinal, homeserverOrdinal } = await tx.tickets.open({ customer, customerRoom: room, openedAt });
        const root = parseEventId(`$seedroot${i}`);
        await tx.tickets.setTitle(ticket.id, `[DONE] ${ordinal(homeserverOrdinal)} request from ${server} (${ordinal(customerOrdinal)} by ${customer})`);
        await tx.tickets.setThreadRoot(ticket.id, root);
        if (opts.traffic === true) {
          const question = parseEventId(`$seedq${i}`);
          const answer = parseEventId(`$seeda${i}`);
          const ops = parseRoomId("!seedops:localhost");
          await tx.relays.record({ ticketId: ticket.id, kind: "customer-to-thread", sourceRoom: room, sourceSender: null, sourceEvent: question, targetRoom: ops, targetEvent: parseEventId(`$seedqc${i}`) });
          await tx.relays.record({ ticketId: ticket.id, kind: "operator-to-customer", sourceRoom: ops, sourceSender: null, sourceEvent: answer, targetRoom: room, targetEvent: parseEventId(`$seedac${i}`) });
          await tx.journal.markHandled(question, openedAt);
          await tx.journal.markHandled(answer, openedAt);
        }
        if (i < openFrom) await tx.tickets.close(ticket.id, new Date(openedAt.getTime() + STEP_MS / 2), "operator");
      });
    }
  } finally {
    await store.close();
  }
}
