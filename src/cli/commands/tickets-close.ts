import { text as readAll } from "node:stream/consumers";
import { HonoroitError } from "../../core/errors.ts";
import type { TicketId } from "../../core/ids.ts";
import { parseTicketId } from "../../core/ids.ts";
import type { CloseOutcome } from "../../core/usecases/close-ticket.ts";
import type { CommandInput } from "../command.ts";
import type { CliContext } from "../context.ts";
import type { Output } from "../output.ts";

/** How long the CLI waits for a running serve to do what it handed over. */
const HAND_OFF_TIMEOUT_MS = 60_000;

/**
 * Ticket numbers from arguments, or from stdin for `-`: numbers (`42`, `#42`) separated by
 * spaces, commas or lines, or the JSON of `tickets list --json` (an array of objects with
 * `id`, or of numbers), or one JSON object per line.
 */
export function parseTicketIds(words: readonly string[]): TicketId[] {
  const ids: TicketId[] = [];
  const add = (value: unknown): void => {
    const id = typeof value === "object" && value !== null && "id" in value ? (value).id : value;
    const n = typeof id === "number" ? id : typeof id === "string" && /^#?\d+$/.test(id.trim()) ? Number(id.trim().replace("#", "")) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < 1) throw new HonoroitError("BAD_ARGUMENT", `not a ticket number: ${JSON.stringify(value)}`);
    if (!ids.includes(n as TicketId)) ids.push(parseTicketId(n));
  };
  for (const word of words) {
    const trimmed = word.trim();
    if (trimmed === "") continue;
    if (trimmed.startsWith("[")) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(trimmed);
      } catch {
        throw new HonoroitError("BAD_ARGUMENT", "the input starts like JSON but is not valid JSON");
      }
      if (!Array.isArray(parsed)) throw new HonoroitError("BAD_ARGUMENT", "expected a JSON array of tickets");
      parsed.forEach(add);
      continue;
    }
    for (const line of trimmed.split("\n")) {
      const l = line.trim();
      if (l.startsWith("{")) {
        try {
          add(JSON.parse(l));
        } catch (error) {
          if (error instanceof HonoroitError) throw error;
          throw new HonoroitError("BAD_ARGUMENT", `not a JSON ticket: ${l.slice(0, 80)}`);
        }
        continue;
      }
      for (const token of l.split(/[\s,]+/)) if (token !== "") add(token);
    }
  }
  if (ids.length === 0) throw new HonoroitError("BAD_ARGUMENT", "no ticket numbers given (e.g. honoroit tickets close 42, or - to read them from stdin)");
  return ids;
}

function describe(o: CloseOutcome): string {
  if (o.outcome === "closed") return [`#${o.id} closed`, ...o.problems.map((p) => `  note: ${p}`)].join("\n");
  return o.outcome === "already closed" ? `#${o.id} was already closed` : `#${o.id}: there is no such request`;
}

/** With no serve running: this process takes the serve lock and closes them itself. */
async function closeHere(ctx: CliContext, ids: readonly TicketId[], text: string | undefined): Promise<CloseOutcome[] | undefined> {
  const config = await ctx.config();
  const logger = await ctx.logger();
  const store = await ctx.store({ mustExist: true });
  const { openServeLock } = await import("../../adapters/storage/serve-lock.ts");
  const lock = await openServeLock(config.db.dialect, config.db.dsn, logger);
  if (!(await lock.tryAcquire())) return undefined;
  try {
    const { requireMatrixLogin } = await import("../../config/load.ts");
    const matrix = requireMatrixLogin(config);
    const { PromMetrics } = await import("../../adapters/http/metrics.ts");
    const { RuntimeOptions } = await import("../../core/runtime-options.ts");
    const { connectAsBot, helpdeskDeps } = await import("../../serve/helpdesk-deps.ts");
    const { closeTickets } = await import("../../core/usecases/close-ticket.ts");
    const connection = await connectAsBot(config, matrix, store, logger);
    try {
      const options = await RuntimeOptions.load(store.options, logger);
      const deps = helpdeskDeps({ config, operatorsRoom: matrix.roomId, store, messenger: connection.messenger, options, clock: ctx.clock, logger, metrics: new PromMetrics() });
      return await closeTickets(deps, ids, "cli", text);
    } finally {
      await connection.close();
    }
  } finally {
    await lock.release();
  }
}

/** `honoroit tickets close`, as declared in the command table (index.ts). */
export async function run({ args, options }: CommandInput, ctx: CliContext): Promise<Output> {
  const words = args.includes("-") ? [...args.filter((a) => a !== "-"), await readAll(process.stdin)] : args;
  const ids = parseTicketIds(words);
  if (options["silent"] === true && typeof options["message"] === "string") throw new HonoroitError("BAD_ARGUMENT", "--silent and --message contradict each other: choose one");
  const text = options["silent"] === true ? "" : typeof options["message"] === "string" ? options["message"] : undefined;
  let outcomes = await closeHere(ctx, ids, text);
  if (outcomes === undefined) {
    // A serve holds the database (and the Matrix device): it does the work.
    const { handOffClose } = await import("../../core/usecases/hand-off.ts");
    outcomes = await handOffClose(await ctx.store(), ctx.clock, { ids, ...(text === undefined ? {} : { text }) }, HAND_OFF_TIMEOUT_MS);
  }
  const lines = outcomes.map(describe);
  const missing = outcomes.filter((o) => o.outcome === "not found");
  if (missing.length > 0) {
    throw new HonoroitError("NOT_FOUND", `there is no request ${missing.map((o) => `#${o.id}`).join(", ")}`, { details: lines });
  }
  return { kind: "lines", lines, json: outcomes };
}
