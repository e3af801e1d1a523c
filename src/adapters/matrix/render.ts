// OutgoingMessage → Matrix event content. Pure.
import type { OutgoingMessage } from "../../core/events.ts";
import type { EventId, UserId } from "../../core/ids.ts";

/** The content of a Matrix event, ready to send. */
export type EventContent = Record<string, unknown>;

const HTML = "org.matrix.custom.html";

/** The content of an `m.room.message` for a message. */
export function renderMessage(message: OutgoingMessage): EventContent {
  return {
    ...message.fields,
    ...bodyContent(message, ""),
    ...threadRelation(message.threadRoot),
    ...profileContent(message),
    "m.mentions": mentions(message.mentions),
  };
}

/**
 * The content of an edit (`m.replace`) of `target` so that it reads as `message`. Clients that
 * know edits show `m.new_content`; the rest show the "* "-prefixed fallback. The listed
 * mentions are pinged again (the core edits with none).
 */
export function renderEdit(target: EventId, message: OutgoingMessage): EventContent {
  const newContent: EventContent = {
    ...message.fields,
    ...bodyContent(message, ""),
    ...profileContent(message),
    "m.mentions": mentions(message.mentions),
  };
  return {
    ...message.fields,
    ...bodyContent(message, "* "),
    ...profileContent(message),
    "m.mentions": mentions(message.mentions),
    "m.new_content": newContent,
    "m.relates_to": { rel_type: "m.replace", event_id: target },
  };
}

/** The content of an `m.reaction` with `key` (usually an emoji) on `target`. */
export function renderReaction(target: EventId, key: string): EventContent {
  return { "m.relates_to": { rel_type: "m.annotation", event_id: target, key } };
}

function bodyContent(message: OutgoingMessage, prefix: string): EventContent {
  const content: EventContent = { msgtype: message.msgtype, body: prefix + message.body };
  if (message.html !== undefined) {
    content["format"] = HTML;
    content["formatted_body"] = prefix + message.html;
  }
  const media = message.media;
  if (media !== undefined) {
    if (media.encryption === undefined) content["url"] = media.url;
    else content["file"] = { ...media.encryption, url: media.url };
    if (media.info !== undefined) content["info"] = { ...media.info };
    if (media.filename !== undefined) content["filename"] = media.filename;
  }
  return content;
}

function threadRelation(root: EventId | undefined): EventContent {
  if (root === undefined) return {};
  // is_falling_back + m.in_reply_to: clients without threads show it as a reply to the root.
  return {
    "m.relates_to": { rel_type: "m.thread", event_id: root, is_falling_back: true, "m.in_reply_to": { event_id: root } },
  };
}

function profileContent(message: OutgoingMessage): EventContent {
  const profile = message.profile;
  if (profile === undefined) return {};
  return {
    "com.beeper.per_message_profile": {
      id: profile.id,
      displayname: profile.displayname,
      ...(profile.avatarUrl === undefined ? {} : { avatar_url: profile.avatarUrl }),
    },
  };
}

// Always present, so a client never falls back to pinging whoever the body happens to name.
function mentions(users: readonly UserId[] | undefined): { user_ids: UserId[] } {
  return { user_ids: [...new Set(users ?? [])] };
}
