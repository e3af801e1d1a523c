import { closestMatch } from "./typo.ts";
import { HonoroitError } from "./errors.ts";
import {
  booleanOption,
  choiceOption,
  durationOption,
  integerOption,
  prefixOption,
  roomListOption,
  templateOption,
  userPatternsOption,
} from "./option-kinds.ts";
import type { OptionDef } from "./option-kinds.ts";

/** Where a message may be sent: the automatic messages' Matrix `msgtype`. */
export const MSGTYPES = ["m.notice", "m.text"] as const;
export type AutoMsgtype = (typeof MSGTYPES)[number];

/** Shortest non-zero `autoclose.after`: shorter would close a request while the customer is still typing. */
export const MIN_AUTOCLOSE_MS = 60_000;

// ---------------------------------------------------------------------------
// The table.
// ---------------------------------------------------------------------------

/** Every runtime option, declared once. The chat `config` command, the CLI and the docs read it. */
export const OPTION_TABLE = [
  userPatternsOption(
    "allow.users",
    "@*:*",
    "Who may invite the bot to open a request; other invites are declined.",
  ),
  roomListOption("ignore.rooms", "Rooms whose events the bot ignores entirely."),
  booleanOption(
    "ignore.nothread",
    false,
    "Stay quiet about operators-room messages outside any thread (otherwise the bot points out that they reach nobody).",
  ),
  booleanOption("silent", false, "Send no automatic messages to customers (greetings, closing messages)."),
  choiceOption("msgtype", MSGTYPES, "m.notice", "Matrix message type of the bot's automatic messages."),
  prefixOption("text.prefix.open", "[OPEN]", "Thread title prefix of an open request."),
  prefixOption("text.prefix.done", "[DONE]", "Thread title prefix of a closed request."),
  templateOption(
    "text.greetings.before.encryption",
    "Hello! We could not read your last message: its encryption keys did not reach us. Please send it again; if this keeps happening, sign out and back in on your device, or start a new chat with us.",
    "Sent to a customer whose encrypted message the bot still cannot decrypt after a grace period.",
  ),
  templateOption(
    "text.greetings",
    "Thank you for contacting us! Your request has been passed on to our support team, and someone will reply in this chat as soon as possible.",
    "Sent to a customer when their request is opened.",
  ),
  templateOption(
    "text.greetings.customer",
    "Thank you for contacting us! This is your %s request with us. It has been passed on to our support team, and someone will reply in this chat as soon as possible.",
    "Sent instead of text.greetings to a customer from another homeserver; %s is their request's ordinal (e.g. 2nd).",
    { names: ["the ordinal"] },
  ),
  templateOption("text.join", "%s has joined the customer's room.", "Posted in the thread when someone joins the customer's room; %s is their name.", {
    names: ["the name"],
  }),
  templateOption(
    "text.invite",
    "%s has invited %s to the customer's room.",
    "Posted in the thread when someone is invited to the customer's room; the first %s is who invited, the second who was invited.",
    { names: ["the inviter", "the invitee"] },
  ),
  templateOption("text.leave", "%s has left the customer's room.", "Posted in the thread when someone leaves or is removed from the customer's room; %s is their name.", {
    names: ["the name"],
  }),
  templateOption(
    "text.emptyroom",
    "Nobody is left in the customer's room, so replies in this thread will not reach anyone. You may close this request.",
    "Posted in the thread when the last customer has left their room.",
  ),
  templateOption(
    "text.error",
    "Sorry, something went wrong on our side and your message may not have reached our team. Please try again in a few minutes.",
    "Sent to a customer when their message could not be passed on to the team.",
  ),
  templateOption(
    "text.start",
    "Hello! A member of our support team would like to talk with you. Simply reply in this chat.",
    "Sent to the customer in the new room when an operator starts a request.",
  ),
  templateOption(
    "text.count",
    "Counted as the %s.",
    "Posted in the thread after a request is counted; the optional %s is what was counted, e.g. “3rd request from example.com (1st by @alice:example.com)”.",
    { names: ["the count summary"], min: 0 },
  ),
  templateOption(
    "text.done",
    "Your request has been marked as resolved. Thank you for contacting us! If you need anything else, just start a new chat with us.",
    "Sent to the customer when an operator closes their request.",
  ),
  templateOption(
    "text.done.auto",
    "We have closed this request because there has been no activity for a while. If you still need help, just start a new chat with us.",
    "Sent to the customer when their request is closed for inactivity (see autoclose.after).",
  ),
  durationOption(
    "autoclose.after",
    "7d",
    "Close requests with no activity for this long, sending text.done.auto; 0 never closes them.",
    MIN_AUTOCLOSE_MS,
  ),
  integerOption(
    "power.level",
    50,
    "Power level in the operators room needed for the commands that change what the bot does or whom it contacts (`start`, `config KEY VALUE`); 0 lets every member run them.",
    0,
    1000,
  ),
] as const;

type OptionEntry = (typeof OPTION_TABLE)[number];

/** A valid option key. */
export type OptionKey = OptionEntry["key"];

/** The parsed value type of each option, derived from the table. */
export type OptionValues = {
  [E in OptionEntry as E["key"]]: E extends OptionDef<string, infer T> ? T : never;
};

/** Every option key, in table order. */
export const OPTION_KEYS: readonly OptionKey[] = OPTION_TABLE.map((o) => o.key);

const BY_KEY: ReadonlyMap<string, OptionEntry> = new Map(OPTION_TABLE.map((o) => [o.key, o]));

/** Whether `key` names an option (exactly, as stored). */
export function isOptionKey(key: string): key is OptionKey {
  return BY_KEY.has(key);
}

/** The table entry for a key, typed for that key. */
export function optionDef<K extends OptionKey>(key: K): OptionDef<K, OptionValues[K]> {
  // The map is built from the table, so the entry exists and has K's value type.
  return BY_KEY.get(key) as unknown as OptionDef<K, OptionValues[K]>;
}

/**
 * Checks a key given by a person (case-insensitive, trimmed); an unknown key is a BAD_ARGUMENT
 * listing the valid keys, with a suggestion when one is close.
 */
export function parseOptionKey(raw: string): OptionKey {
  const key = raw.trim().toLowerCase();
  if (isOptionKey(key)) return key;
  const suggestion = suggestKey(key);
  throw new HonoroitError(
    "BAD_ARGUMENT",
    `unknown option "${raw}"${suggestion === undefined ? "" : ` (did you mean ${suggestion}?)`}; valid options: ${OPTION_KEYS.join(", ")}`,
  );
}

/** Parses a value for an option; throws BAD_ARGUMENT for an unknown key or a value it does not accept. */
export function parseOption<K extends OptionKey>(key: K, raw: string): OptionValues[K];
export function parseOption(key: string, raw: string): OptionValues[OptionKey];
export function parseOption(key: string, raw: string): OptionValues[OptionKey] {
  return optionDef(parseOptionKey(key)).parse(raw);
}

/** An option's value in stored form (the inverse of `parseOption`). */
export function formatOption<K extends OptionKey>(key: K, value: OptionValues[K]): string {
  return optionDef(key).format(value);
}

/** The closest key to a mistyped one, if any is close enough to be a plausible typo. */
function suggestKey(typed: string): OptionKey | undefined {
  if (typed === "") return undefined;
  const bySuffix = OPTION_KEYS.find((k) => k.endsWith(`.${typed}`));
  if (bySuffix !== undefined) return bySuffix;
  return closestMatch(typed, OPTION_KEYS, Math.max(2, Math.floor(typed.length / 3)));
}


// ---------------------------------------------------------------------------
// Using option values.
// ---------------------------------------------------------------------------

/**
 * Whether a user id matches any `allow.users` pattern: `*` matches any run of characters, `?`
 * exactly one; the whole id must match; the server part is compared case-insensitively.
 */
export function matchesUserPattern(user: string, patterns: readonly string[]): boolean {
  const colon = user.indexOf(":");
  if (!user.startsWith("@") || colon < 0) return false;
  const local = user.slice(0, colon);
  const server = user.slice(colon + 1).toLowerCase();
  return patterns.some((pattern) => {
    const pc = pattern.indexOf(":");
    if (pc < 0) return false;
    // Split at the first colon on both sides, so a `*` in the localpart cannot swallow the server.
    return globMatch(pattern.slice(0, pc), local) && globMatch(pattern.slice(pc + 1).toLowerCase(), server);
  });
}

/** Anchored wildcard match without regular expressions (linear-ish, no catastrophic backtracking). */
function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const c = pattern[p];
    if (c !== undefined && (c === "?" || c === text[t])) {
      p++;
      t++;
    } else if (c === "*") {
      starP = p++;
      starT = t;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}

/** Fills a template's `%s` placeholders in order; missing arguments become empty, extra ones are ignored. */
export function fillTemplate(template: string, ...args: readonly string[]): string {
  const parts = template.split("%s");
  let out = parts[0] ?? "";
  for (let i = 1; i < parts.length; i++) out += (args[i - 1] ?? "") + (parts[i] ?? "");
  return out;
}
