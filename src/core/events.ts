import type { EventId, RoomId, UserId } from "./ids.ts";

/** A file, image, audio or video attached to a message (same media id on both sides). */
export interface MediaRef {
  /** `mxc://` URI of the file (its ciphertext when `encryption` is set). */
  readonly url: string;
  readonly filename?: string;
  /** The event's `info` block (mimetype, size, w/h, duration, thumbnail), copied as is. */
  readonly info?: Readonly<Record<string, unknown>>;
  /**
   * An encrypted file's keys (the event's `file` block without its url: key, iv, hashes, v).
   * Opaque to the core; the Matrix adapter decides what a room may carry.
   */
  readonly encryption?: Readonly<Record<string, unknown>>;
}

/** The msgtypes whose `url` is a file to copy; any other msgtype is relayed as text. */
const MEDIA_MSGTYPES: ReadonlySet<string> = new Set(["m.image", "m.file", "m.audio", "m.video"]);

export function isMediaMsgtype(msgtype: string): boolean {
  return MEDIA_MSGTYPES.has(msgtype);
}

/** The body of a message as a person wrote it. */
export interface MessageBody {
  /** `m.text`, `m.notice`, `m.emote`, `m.image`, `m.file`, `m.audio`, `m.video`, … */
  readonly msgtype: string;
  readonly body: string;
  /** `formatted_body` when `format` is `org.matrix.custom.html`. */
  readonly html?: string;
  readonly media?: MediaRef;
}

interface Base {
  readonly room: RoomId;
  readonly eventId: EventId;
  readonly sender: UserId;
  readonly ts: Date;
}

/** The bot was invited to a room. */
export interface InviteEvent extends Base {
  readonly type: "invite";
  readonly isDirect: boolean;
}

/** A new message (not an edit). */
export interface MessageEvent extends Base {
  readonly type: "message";
  readonly content: MessageBody;
  /** Root of the thread the message belongs to, if any. */
  readonly threadRoot?: EventId;
  /** The event it replies to, if any. */
  readonly replyTo?: EventId;
}

/** An edit (`m.replace`) of an earlier message. */
export interface EditEvent extends Base {
  readonly type: "edit";
  readonly target: EventId;
  readonly content: MessageBody;
  readonly threadRoot?: EventId;
}

/** A reaction (`m.annotation`) to a message. */
export interface ReactionEvent extends Base {
  readonly type: "reaction";
  readonly target: EventId;
  readonly key: string;
}

/** A redaction of an earlier event. */
export interface RedactionEvent extends Base {
  readonly type: "redaction";
  readonly target: EventId;
  readonly reason?: string;
}

/** Someone's membership in a room changed. */
export interface MembershipEvent extends Base {
  readonly type: "membership";
  /** Whose membership changed (the state key). */
  readonly user: UserId;
  readonly membership: "join" | "invite" | "leave" | "ban" | "knock";
  readonly previous?: string;
  readonly displayname?: string;
}

/** An encrypted event the bot could not decrypt. */
export interface UndecryptableEvent extends Base {
  readonly type: "undecryptable";
}

/** Everything the helpdesk reacts to, already parsed from Matrix events by the adapter. */
export type IncomingEvent =
  | InviteEvent
  | MessageEvent
  | EditEvent
  | ReactionEvent
  | RedactionEvent
  | MembershipEvent
  | UndecryptableEvent;

/** MSC4144 per-message profile. */
export interface PerMessageProfile {
  readonly id: string;
  readonly displayname: string;
  readonly avatarUrl?: string;
}

/** A message the bot sends; the Matrix adapter turns it into event content. */
export interface OutgoingMessage {
  readonly msgtype: string;
  readonly body: string;
  readonly html?: string;
  readonly media?: MediaRef;
  /** Post in the thread with this root. */
  readonly threadRoot?: EventId;
  readonly profile?: PerMessageProfile;
  /** Users to mention explicitly; anything not listed is not pinged (`m.mentions`). */
  readonly mentions?: readonly UserId[];
  /** Extra machine-readable fields, e.g. `customer`, `homeserver` on a thread root. */
  readonly fields?: Readonly<Record<string, string>>;
}
