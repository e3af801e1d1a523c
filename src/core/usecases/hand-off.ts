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
  ];
}

/** Queues the request for the running serve; resolves with what it did, or throws after `timeoutMs`. */
export async function handOffClose(store: Store, clock: Clock, request: CloseRequest, timeoutMs: number): Promise<CloseOutcome[]> {
  const resultKey = randomUUID();
  const job: CloseJob = { ...request, resultKey };
  await store.jobs.enqueue({ kind: CLOSE_TICKETS_JOB, key: `cli:${resultKey}`, payload: JSON.stringify(job), runAt: clock.now() });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const result = await store.kv.get(RESULTS, resultKey);
    if (result !== undefined) {
      await store.kv.delete(RESULTS, resultKey);
      return JSON.parse(result) as CloseOutcome[];
    }
    await sleep(200);
  }
  throw new HonoroitError("BUSY", `the running serve did not finish within ${Math.round(timeoutMs / 1000)} s (is the homeserver reachable? see its /_health); the request stays queued and it will do it`);
}
