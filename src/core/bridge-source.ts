/**
 * Localpart prefixes of bridge puppets, as the common bridges (mautrix and others) name them by
 * default: `@telegram_123:example.com` is a Telegram user seen through a bridge.
 */
export const BRIDGE_PREFIXES = [
  "telegram",
  "whatsapp",
  "signal",
  "discord",
  "slack",
  "instagram",
  "facebook",
  "messenger",
  "twitter",
  "linkedin",
  "gmessages",
  "googlechat",
  "imessage",
  "irc",
  "sms",
] as const;

const BRIDGE_PUPPET = new RegExp(`^@_?(${BRIDGE_PREFIXES.join("|")})_[^:]`, "i");

/**
 * The `source` label of a customer message: the bridge a sender comes through, else `matrix`.
 * Only the known prefixes count (an optional leading `_`, as matrix-appservice-discord uses, is
 * allowed): a generic `<word>_<digits>` rule would file ordinary users such as `@anna_1990`
 * under a bridge called "anna".
 */
export function bridgeSource(sender: string): string {
  const m = BRIDGE_PUPPET.exec(sender);
  return m?.[1]?.toLowerCase() ?? "matrix";
}
