// The crypto stage of the /sync pipeline: each answer's to-device events, device lists and key
// counts go to the OlmMachine (saved together) before its room events are parsed; users of
// encrypted rooms are tracked; queued key requests are sent; encrypted events are decrypted,
// and one whose key has not come yet waits (the pipeline retries it) for a grace period.
import type { Logger } from "../../core/ports.ts";
import type { RoomId } from "../../core/ids.ts";
import { messageOf } from "../../core/errors.ts";
import type { SyncStage } from "../matrix/sync-pipeline.ts";
import { arrayAt, isObject, numberAt, objectAt, stringAt } from "../matrix/json.ts";
import type { JsonObject } from "../matrix/json.ts";
import type { EncryptedRooms } from "./encrypted-rooms.ts";
import type { SyncChanges } from "./olm-engine.ts";

/** What happened to events that could not be decrypted at first. */
export type UndecryptableOutcome = "seen" | "retried" | "decrypted_late" | "given_up";

export interface UndecryptableMetrics {
  undecryptable(outcome: UndecryptableOutcome): void;
}

/** The part of the crypto engine the stage drives (OlmEngine; a fake in tests). */
export interface StageEngine {
  receiveSyncChanges(changes: SyncChanges): Promise<void>;
  trackUsers(users: readonly string[]): Promise<void>;
  sendOutgoing(signal?: AbortSignal): Promise<void>;
  decrypt(room: string, raw: object): Promise<{ type: string; content: unknown }>;
}

export interface CryptoStageOptions {
  readonly engine: StageEngine;
  readonly rooms: EncryptedRooms;
  readonly logger: Logger;
  readonly metrics?: UndecryptableMetrics;
  /** How long an event waits for its key before it is handled as undecryptable; default 60 s. */
  readonly graceMs?: number;
  readonly now?: () => number;
}

export class CryptoStage implements SyncStage {
  /** Events that failed to decrypt: when first. */
  private readonly failing = new Map<string, number>();

  constructor(private readonly options: CryptoStageOptions) {}

  async beforeRooms(response: JsonObject, signal: AbortSignal | undefined): Promise<boolean> {
    const toDevice = arrayAt(objectAt(response, "to_device"), "events");
    await this.options.engine.receiveSyncChanges(syncChanges(response));
    await this.options.engine.trackUsers(this.roomChanges(response));
    await this.options.engine.sendOutgoing(signal);
    // Room keys come as to-device events: events waiting for one may decrypt now.
    return toDevice.length > 0;
  }

  async prepare(room: RoomId, raw: JsonObject): Promise<JsonObject> {
    if (stringAt(raw, "type") !== "m.room.encrypted") return raw;
    this.options.rooms.markEncrypted(room);
    const id = stringAt(raw, "event_id") ?? "";
    const metrics = this.options.metrics;
    try {
      const clear = await this.options.engine.decrypt(room, raw);
      if (this.failing.delete(id)) metrics?.undecryptable("decrypted_late");
      return { ...raw, type: clear.type, content: withRelation(isObject(clear.content) ? clear.content : {}, objectAt(raw, "content")) };
    } catch (error) {
      const now = (this.options.now ?? Date.now)();
      const first = this.failing.get(id);
      if (first === undefined) {
        this.failing.set(id, now);
        metrics?.undecryptable("seen");
      } else {
        metrics?.undecryptable("retried");
      }
      if (now - (first ?? now) < (this.options.graceMs ?? 60_000)) throw new Error(`its key has not arrived yet (${messageOf(error)})`, { cause: error });
      this.failing.delete(id);
      metrics?.undecryptable("given_up");
      this.options.logger.warn("an encrypted event could still not be decrypted; handled as undecryptable", { room, event: id, error: messageOf(error) });
      return raw;
    }
  }

  /** Marks rooms encrypted and forgets their members as the answer says; returns users to track. */
  private roomChanges(response: JsonObject): string[] {
    const rooms = objectAt(response, "rooms");
    const users = new Set<string>();
    for (const [room, data] of Object.entries(objectAt(rooms, "invite") ?? {})) {
      const events = isObject(data) ? arrayAt(objectAt(data, "invite_state"), "events").filter(isObject) : [];
      this.scan(room, events, users);
    }
    for (const section of ["join", "leave"] as const) {
      for (const [room, data] of Object.entries(objectAt(rooms, section) ?? {})) {
        if (!isObject(data)) continue;
        const events = [...arrayAt(objectAt(data, "state"), "events"), ...arrayAt(objectAt(data, "timeline"), "events")].filter(isObject);
        this.scan(room, events, users);
      }
    }
    return [...users];
  }

  private scan(room: string, events: readonly JsonObject[], users: Set<string>): void {
    if (events.some((e) => stringAt(e, "type") === "m.room.encryption")) this.options.rooms.markEncrypted(room);
    const members = events.filter((e) => stringAt(e, "type") === "m.room.member");
    if (members.length > 0) this.options.rooms.membershipChanged(room);
    if (!this.options.rooms.knownEncrypted(room)) return;
    for (const e of members) {
      const membership = stringAt(objectAt(e, "content"), "membership");
      const user = stringAt(e, "state_key");
      if (user !== undefined && (membership === "join" || membership === "invite")) users.add(user);
      const sender = stringAt(e, "sender");
      if (sender !== undefined) users.add(sender);
    }
  }
}

/** What one /sync answer tells the crypto machine. */
export function syncChanges(response: JsonObject): SyncChanges {
  const lists = objectAt(response, "device_lists");
  const strings = (values: readonly unknown[]): string[] => values.filter((v): v is string => typeof v === "string");
  const counts = new Map<string, number>();
  for (const [algorithm, count] of Object.entries(objectAt(response, "device_one_time_keys_count") ?? {})) {
    const n = numberAt({ count }, "count");
    if (n !== undefined) counts.set(algorithm, n);
  }
  const fallback = response["device_unused_fallback_key_types"] ?? response["org.matrix.msc2732.device_unused_fallback_key_types"];
  return {
    toDevice: arrayAt(objectAt(response, "to_device"), "events"),
    changed: strings(arrayAt(lists, "changed")),
    left: strings(arrayAt(lists, "left")),
    oneTimeKeyCounts: counts,
    unusedFallbackKeys: Array.isArray(fallback) ? new Set(strings(fallback)) : undefined,
  };
}

/**
 * The decrypted content, with the relation its sender left in clear (a thread, an edit, a
 * reaction): clients keep `m.relates_to` outside the ciphertext so that servers can group
 * relations, and some leave it out of the encrypted part.
 */
function withRelation(content: JsonObject, wire: JsonObject | undefined): JsonObject {
  const relation = wire?.["m.relates_to"];
  if (content["m.relates_to"] !== undefined || !isObject(relation)) return content;
  return { ...content, "m.relates_to": relation };
}
