// Work the command line hands to a running serve: the CLI must not drive the Matrix device
// that serve drives. It queues a job in the database; serve's scheduler runs it within a
// second and leaves the result where the waiting CLI reads it.
import { randomUUID } from "node:crypto";
import type { HelpdeskDeps } from "../deps.ts";
import { HonoroitError } from "../errors.ts";
import { parseTicketId } from "../ids.ts";
import type { Clock, Store } from "../ports.ts";
import type { JobHandler } from "../scheduler.ts";
import { sleep } from "../timing.ts";
import { closeTickets, type CloseOutcome } from "./close-ticket.ts";

const RESULTS = "cli-results";
export const CLOSE_TICKETS_JOB = "cli.close-tickets";
export const RELOAD_OPTIONS_JOB = "cli.reload-options";

/** What `tickets close` asks for. */
export interface CloseRequest {
  readonly ids: readonly number[];
  /** In place of text.done; "" tells the customer nothing (`--silent`). */
  readonly text?: string;
}

interface CloseJob extends CloseRequest {
  readonly resultKey: string;
}

/** The job handlers serve runs for the command line. */
export function handOffHandlers(deps: HelpdeskDeps): JobHandler[] {
  return [
    {
      kind: CLOSE_TICKETS_JOB,
      async run(job) {
        const request = JSON.parse(job.payload) as CloseJob;
        const outcomes = await closeTickets(deps, request.ids.map((id) => parseTicketId(id)), "cli", request.text);
        await deps.store.kv.set(RESULTS, request.resultKey, JSON.stringify(outcomes));
      },
    },
    {
      kind: RELOAD_OPTIONS_JOB,
      async run(job) {
        await deps.options.load();
        await deps.store.kv.set(RESULTS, (JSON.parse(job.payload) as { resultKey: string }).resultKey, "true");
      },
    },
  ];
}

/** Queues the request for the running serve; resolves with what it did, or throws after `timeoutMs`. */
export async function handOffClose(store: Store, clock: Clock, request: CloseRequest, timeoutMs: number): Promise<CloseOutcome[]> {
  return JSON.parse(await handOff(store, clock, CLOSE_TICKETS_JOB, request, timeoutMs)) as CloseOutcome[];
}

/** Has the running serve read the options again now (after `config set`); false when it did not within `timeoutMs`. */
export async function handOffReloadOptions(store: Store, clock: Clock, timeoutMs: number): Promise<boolean> {
  try {
    await handOff(store, clock, RELOAD_OPTIONS_JOB, {}, timeoutMs);
    return true;
  } catch (error) {
    if (error instanceof HonoroitError && error.code === "BUSY") return false;
    throw error;
  }
}

async function handOff(store: Store, clock: Clock, kind: string, request: object, timeoutMs: number): Promise<string> {
  const resultKey = randomUUID();
  await store.jobs.enqueue({ kind, key: `cli:${resultKey}`, payload: JSON.stringify({ ...request, resultKey }), runAt: clock.now() });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const result = await store.kv.get(RESULTS, resultKey);
    if (result !== undefined) {
      await store.kv.delete(RESULTS, resultKey);
      return result;
    }
    await sleep(200);
  }
  throw new HonoroitError("BUSY", `the running serve did not finish within ${Math.round(timeoutMs / 1000)} s (is the homeserver reachable? see its /_health); the request stays queued and it will do it`);
}
