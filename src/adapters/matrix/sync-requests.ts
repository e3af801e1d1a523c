// The /sync requests themselves: the long-poll, retried until the homeserver answers, with
// what the pipeline needs to know about the homeserver for /_health, and the filters.
import { HonoroitError } from "../../core/errors.ts";
import type { UserId } from "../../core/ids.ts";
import type { Logger } from "../../core/ports.ts";
import { backoffMs, classifyFailure, Method, path, sleep } from "./api.ts";
import type { MatrixApi, Query } from "./api.ts";
import { isObject, stringAt } from "./json.ts";
import type { JsonObject } from "./json.ts";

const NO_NOISE = { types: [] as string[] };

/** The first sync asks for no history: only what is pending (invites) and a position. */
export const FIRST_SYNC_FILTER = JSON.stringify({
  presence: NO_NOISE,
  account_data: NO_NOISE,
  room: { timeline: { limit: 0 }, state: { lazy_load_members: true }, ephemeral: NO_NOISE, account_data: NO_NOISE },
});

/** What the homeserver's last answers say, for /_health. */
export interface HomeserverStatus {
  readonly homeserver: "ok" | "unreachable";
  readonly lastSyncAt?: Date;
  readonly lastError?: string;
}

/** /sync for one bot: waits out outages and rate limits, throws on a refusal. */
export class SyncRequests {
  private filterId: string | undefined;
  status: HomeserverStatus = { homeserver: "ok" };

  constructor(
    private readonly api: MatrixApi,
    private readonly botUser: UserId,
    private readonly logger: Logger,
    private readonly pollMs: number,
    private readonly timelineLimit: number,
  ) {}

  /** A /sync answer, retried until the homeserver gives one; undefined once aborted. */
  async sync(query: Query, signal: AbortSignal): Promise<JsonObject | undefined> {
    let failures = 0;
    for (;;) {
      if (signal.aborted) return undefined;
      try {
        const response = await this.api.once(Method.Get, "/sync", { query, timeoutMs: this.pollMs + 30_000, signal });
        if (!isObject(response)) throw new SyntaxError("the /sync answer is not a JSON object");
        if (this.status.homeserver === "unreachable") this.logger.info("homeserver reachable again");
        this.status = { homeserver: "ok", lastSyncAt: new Date() };
        return response;
      } catch (error) {
        const failure = classifyFailure(error, signal);
        switch (failure.kind) {
          case "aborted":
            return undefined;
          case "rejected":
            this.status = { ...this.status, lastError: failure.message };
            if (failure.errcode === "M_UNKNOWN_TOKEN") {
              throw new HonoroitError("BAD_CONFIG", `the homeserver no longer accepts the bot's access token (${failure.message}); log in again`, { cause: error });
            }
            throw new Error(`/sync refused: ${failure.message}`, { cause: error });
          case "rate-limited": {
            const wait = failure.retryAfterMs ?? backoffMs(failures);
            this.logger.warn(`homeserver rate limit on /sync, retrying in ${Math.ceil(wait / 1000)}s`);
            await sleep(wait, signal);
            break;
          }
          case "unreachable": {
            const wait = backoffMs(failures++);
            this.status = { ...this.status, homeserver: "unreachable", lastError: failure.message };
            this.logger.warn(`homeserver unreachable, retrying in ${Math.round(wait / 1000)}s`, { error: failure.message });
            await sleep(wait, signal);
            break;
          }
        }
      }
    }
  }

  /** The id of the filter of every later sync, uploaded once. */
  async filter(signal: AbortSignal): Promise<string> {
    if (this.filterId !== undefined) return this.filterId;
    const filter = {
      presence: NO_NOISE,
      account_data: NO_NOISE,
      room: {
        // Not `not_senders: [bot]`, though the bot's own relays are most of a busy operators
        // room: when every event Synapse looks at for a room is filtered out, it leaves the room
        // out of the answer altogether, gap and all, and the operator messages before those
        // events are never delivered. The pipeline drops the bot's own events on arrival, and
        // reads gaps with that filter, where Synapse applies it correctly.
        timeline: { limit: this.timelineLimit },
        state: { lazy_load_members: true },
        ephemeral: NO_NOISE,
        account_data: NO_NOISE,
      },
    };
    const response = await this.api.requestObject(Method.Post, path`/user/${this.botUser}/filter`, { body: filter, maxAttempts: Infinity, signal });
    const id = stringAt(response, "filter_id");
    if (id === undefined) throw new Error("the homeserver did not return a filter id");
    this.filterId = id;
    return id;
  }
}
