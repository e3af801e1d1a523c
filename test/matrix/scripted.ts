// Scripted stand-ins shared by the Matrix adapter's failure tests: a logger that keeps its
// lines, an in-memory session and sync position, and a fake homeserver per test.
import { after } from "node:test";
import type { RoomId, UserId } from "../../src/core/ids.ts";
import type { KeyValueStore, Logger, SyncState } from "../../src/core/ports.ts";
import { FakeHomeserver, matrixError } from "./fake-homeserver.ts";
import type { FakeRequest, FakeResponse } from "./fake-homeserver.ts";

export class RecordingLogger implements Logger {
  readonly lines: { level: string; message: string; fields: Record<string, unknown> | undefined }[] = [];
  /** Debug lines are recorded only when asked for (most tests look at what an admin sees by default). */
  constructor(private readonly withDebug = false) {}
  debug(message: string, fields?: Record<string, unknown>): void {
    if (this.withDebug) this.lines.push({ level: "debug", message, fields });
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: "info", message, fields });
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: "warn", message, fields });
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: "error", message, fields });
  }
  messages(level: string): string[] {
    return this.lines.filter((l) => l.level === level).map((l) => l.message);
  }
}

/** A typed in-memory KeyValueStore and SyncState that records every saved token. */
export class Memory implements KeyValueStore, SyncState {
  readonly kv = new Map<string, string>();
  readonly savedTokens: string[] = [];
  get(ns: string, key: string): Promise<string | undefined> {
    return Promise.resolve(this.kv.get(`${ns}/${key}`));
  }
  set(ns: string, key: string, value: string): Promise<void> {
    this.kv.set(`${ns}/${key}`, value);
    return Promise.resolve();
  }
  delete(ns: string, key: string): Promise<void> {
    this.kv.delete(`${ns}/${key}`);
    return Promise.resolve();
  }
  list(ns: string): Promise<ReadonlyMap<string, string>> {
    return Promise.resolve(new Map([...this.kv].filter(([k]) => k.startsWith(`${ns}/`)).map(([k, v]) => [k.slice(ns.length + 1), v])));
  }
  getToken(): Promise<string | undefined> {
    return Promise.resolve(this.savedTokens.at(-1));
  }
  setToken(token: string): Promise<void> {
    this.savedTokens.push(token);
    return Promise.resolve();
  }
  savedAt(): Promise<Date | undefined> {
    return Promise.resolve(undefined);
  }
}

const fakes: FakeHomeserver[] = [];
after(async () => {
  for (const f of fakes) await f.stop();
});

/** A fake homeserver, stopped when the test file ends. */
export async function fake(route: (req: FakeRequest, f: FakeHomeserver) => FakeResponse | Promise<FakeResponse>): Promise<FakeHomeserver> {
  const f = await FakeHomeserver.start(route);
  fakes.push(f);
  return f;
}

/** A URL where nothing listens. */
export async function deadUrl(): Promise<string> {
  const f = await FakeHomeserver.start(() => ({ status: 200 }));
  await f.stop();
  return f.url;
}

export const BOT = "@bot:fake" as UserId;
export const ROOM = "!room:fake" as RoomId;
export const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A timeline event from alice. */
export function msg(id: string, body: string): Record<string, unknown> {
  return { event_id: id, sender: "@alice:fake", origin_server_ts: 1, type: "m.room.message", content: { msgtype: "m.text", body } };
}
export const inviteOf = (room: string): Record<string, unknown> => ({
  invite_state: { events: [{ type: "m.room.member", state_key: BOT, sender: "@alice:fake", event_id: `$inv${room}`, origin_server_ts: 1, content: { membership: "invite" } }] },
});

/** A fake whose /sync answers come from `batches` (keyed by `since`, "" for none); then empty polls. */
export async function syncServer(batches: Record<string, FakeResponse>, other?: (req: FakeRequest) => FakeResponse | undefined, opts: { repeat?: boolean } = {}): Promise<FakeHomeserver> {
  const pending = new Map(Object.entries(batches));
  return fake(async (req) => {
    if (req.path === `/user/${BOT}/filter`) return { status: 200, json: { filter_id: "F1" } };
    if (req.path === "/sync") {
      const since = req.query.get("since") ?? "";
      const answer = pending.get(since);
      if (answer !== undefined) {
        // Like a homeserver: the same position gives the same batch again, when asked again.
        if (opts.repeat !== true) pending.delete(since);
        return answer;
      }
      await wait(20);
      return { status: 200, json: { next_batch: req.query.get("since") } };
    }
    return other?.(req) ?? matrixError(404, "M_UNRECOGNIZED", "no");
  });
}

