// Which rooms are encrypted, and who is in them: the OlmMachine does not know. Learnt from
// m.room.encryption in /sync (state, timeline, invite state), else asked of the homeserver once
// per room and run; members are cached until a membership event in the room is seen.
import { MatrixRequestError, Method, path } from "../matrix/api.ts";
import type { MatrixApi } from "../matrix/api.ts";
import { arrayAt, isObject, objectAt, stringAt } from "../matrix/json.ts";

export class EncryptedRooms {
  private readonly encrypted = new Map<string, boolean>();
  private readonly members = new Map<string, readonly string[]>();

  constructor(private readonly api: MatrixApi) {}

  markEncrypted(room: string): void {
    this.encrypted.set(room, true);
  }

  /** Known to be encrypted (without asking the homeserver). */
  knownEncrypted(room: string): boolean {
    return this.encrypted.get(room) === true;
  }

  membershipChanged(room: string): void {
    this.members.delete(room);
  }

  async isEncrypted(room: string): Promise<boolean> {
    const known = this.encrypted.get(room);
    if (known !== undefined) return known;
    let encrypted: boolean;
    try {
      const content = await this.api.requestObject(Method.Get, path`/rooms/${room}/state/m.room.encryption/`, { room });
      encrypted = stringAt(content, "algorithm") !== undefined;
    } catch (error) {
      // No such state: a plain room. A refusal (not in the room) is not an answer to keep.
      if (error instanceof MatrixRequestError && error.status === 404) encrypted = false;
      else throw error;
    }
    // Encryption cannot be turned off, and turning it on is seen in /sync: known from now on.
    if (this.encrypted.get(room) !== true) this.encrypted.set(room, encrypted);
    return encrypted || this.encrypted.get(room) === true;
  }

  /** Joined and invited members (invited ones can read once they join: they get the key now). */
  async membersOf(room: string): Promise<readonly string[]> {
    const cached = this.members.get(room);
    if (cached !== undefined) return cached;
    const joined = objectAt(await this.api.requestObject(Method.Get, path`/rooms/${room}/joined_members`, { room }), "joined");
    const users = new Set(Object.keys(joined ?? {}));
    const invited = await this.api.requestObject(Method.Get, path`/rooms/${room}/members`, { query: { membership: "invite" }, room });
    for (const event of arrayAt(invited, "chunk")) {
      if (!isObject(event) || stringAt(objectAt(event, "content"), "membership") !== "invite") continue;
      const user = stringAt(event, "state_key");
      if (user !== undefined) users.add(user);
    }
    const list = [...users];
    this.members.set(room, list);
    return list;
  }
}
