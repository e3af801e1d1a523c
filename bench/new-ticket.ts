// 3. New-ticket cost vs history: the customer's first message → the operator sees the thread
// root and the copy, with 100 and with 10,000 past tickets in the database (seeded through the
// store). Two bots run side by side, one per database, and their samples alternate.
import path from "node:path";
import { randomBytes } from "node:crypto";
import { sendText } from "../test/support/matrix-http.ts";
import { arrival, bodyOf, clientHasRoom, seen } from "./observe.ts";
import { fmtMs, fmtRatio, type SectionResult } from "./report.ts";
import { seedTickets } from "./seed.ts";
import { median, ratio, round } from "./stats.ts";
import { BenchWorld, type BenchContext, type Desk, type Person } from "./world.ts";

/** Opening a ticket with 10,000 past ones may cost at most this much more than with 100. */
export const HISTORY_TARGET = 1.2;
const SMALL = 100;
const LARGE = 10_000;

interface Sample {
  /** First message sent → thread root seen. */
  readonly rootMs: number;
  /** First message sent → its copy seen in the thread. */
  readonly copyMs: number;
}

async function openOne(world: BenchWorld, operator: Person, desk: Desk): Promise<Sample> {
  const customer = await world.account("customer", "New Customer");
  const dm = await world.openDm(customer, desk.bot.userId);
  const text = `new-${randomBytes(6).toString("hex")}`;
  const fromBot = (ev: { getSender(): string | undefined }): boolean => ev.getSender() === desk.bot.userId;
  const root = seen(operator.client, desk.opsRoom, (ev) => fromBot(ev) && ev.getContent()["customer"] === customer.userId, 60_000);
  const copy = arrival(operator.client, desk.opsRoom, (ev) => fromBot(ev) && bodyOf(ev).endsWith(`\n${text}`), 60_000);
  const started = performance.now();
  await sendText(world.hs, customer, dm, text);
  const [rootAt, copyAt] = [(await root).at, await copy];
  return { rootMs: rootAt - started, copyMs: copyAt - started };
}

export async function runNewTicket(ctx: BenchContext): Promise<SectionResult> {
  const samples = ctx.quick ? 3 : 15;
  const world = new BenchWorld(ctx);
  try {
    const operator = await world.person("operator", "Olga Operator");
    const desks: { size: number; desk: Desk }[] = [];
    for (const size of [SMALL, LARGE]) {
      const db = path.join(ctx.dir, `history-${size}.db`);
      const t0 = performance.now();
      await seedTickets(db, { tickets: size, traffic: true });
      ctx.log(`new-ticket: seeded ${size} past tickets in ${Math.round(performance.now() - t0)} ms`);
      const desk = await world.desk(operator.account, { name: `history${size}`, db });
      await clientHasRoom(operator.client, desk.opsRoom);
      desks.push({ size, desk });
    }
    // One unmeasured ticket each: the first one after start warms up code paths and caches.
    for (const { desk } of desks) await openOne(world, operator, desk);
    const results = new Map<number, Sample[]>(desks.map(({ size }) => [size, []]));
    for (let i = 0; i < samples; i++) {
      for (const { size, desk } of i % 2 === 0 ? desks : [...desks].reverse()) {
        results.get(size)?.push(await openOne(world, operator, desk));
      }
    }
    const med = (size: number, key: keyof Sample): number => median((results.get(size) ?? []).map((s) => s[key]));
    const r = ratio(med(LARGE, "copyMs"), med(SMALL, "copyMs"));
    return {
      rows: [
        {
          metric: `new ticket: first message → root + copy seen, ${LARGE.toLocaleString("en")} past tickets (median of ${samples})`,
          value: fmtMs(med(LARGE, "copyMs")),
          baseline: `${fmtMs(med(SMALL, "copyMs"))} (${SMALL} past tickets)`,
          ratio: fmtRatio(r),
          target: `≤ ${HISTORY_TARGET.toFixed(1)}×`,
          met: r <= HISTORY_TARGET,
        },
      ],
      figures: {
        new_ticket_samples: samples,
        new_ticket_100_ms: round(med(SMALL, "copyMs")),
        new_ticket_10000_ms: round(med(LARGE, "copyMs")),
        new_ticket_history_ratio: round(r, 3),
        new_ticket_100_root_ms: round(med(SMALL, "rootMs")),
        new_ticket_10000_root_ms: round(med(LARGE, "rootMs")),
      },
    };
  } finally {
    await world.dispose();
  }
}
