// The help, generated from the command table (passed in, so this module needs none of the
// handlers), as plain text for every client and as HTML for the clients that show it.
import { escapeHtml } from "../core/format.ts";
import { closestMatch } from "../core/typo.ts";
import type { FormattedText } from "../core/usecases/notices.ts";
import type { ChatCommand, ChatScope } from "./commands.ts";

/** Where a command of each scope is sent, in the help's and the README's words. */
export const SCOPE_WORDS: Readonly<Record<ChatScope, string>> = {
  room: "anywhere in the operators room",
  thread: "in a request's thread",
  "open thread": "in an open request's thread",
};

/** The longest unknown command name repeated back to the operator. */
const MAX_ECHO = 40;

/** One command's help entry, in pieces both forms are built from. */
interface Entry {
  readonly usage: string;
  readonly aliases: readonly string[];
  readonly summary: string;
  /** Remarks in brackets after the summary: where it works, the power it needs. */
  readonly remarks: readonly string[];
}

function entries(commands: readonly ChatCommand[], prefix: string, powerLevel: number): Entry[] {
  return commands.map((c) => ({
    usage: `${prefix} ${c.usage}`,
    aliases: c.aliases,
    summary: c.summary,
    remarks: [
      ...(c.scope === "room" ? [] : [SCOPE_WORDS[c.scope]]),
      ...(c.privileged === undefined || powerLevel === 0 ? [] : [`${c.privileged.uses ?? "it"} needs power level ${powerLevel}, option power.level`]),
    ],
  }));
}

const HEADING = "Commands (send them in the operators room):";

/** The help: every command with its usage, aliases, what it does, where it works and who may run it. */
export function helpMessage(commands: readonly ChatCommand[], prefix: string, powerLevel: number): FormattedText {
  const list = entries(commands, prefix, powerLevel);
  const lines = list.map((e) => {
    const aliases = e.aliases.length > 0 ? ` (also ${e.aliases.join(", ")})` : "";
    const remarks = e.remarks.length > 0 ? ` (${e.remarks.join("; ")})` : "";
    return `- \`${e.usage}\`${aliases}: ${e.summary}${remarks}`;
  });
  const items = list.map((e) => {
    const aliases = e.aliases.length > 0 ? ` (also ${e.aliases.map((a) => `<code>${escapeHtml(a)}</code>`).join(", ")})` : "";
    const remarks = e.remarks.length > 0 ? ` <em>(${escapeHtml(e.remarks.join("; "))})</em>` : "";
    return `<li><code>${escapeHtml(e.usage)}</code>${aliases}: ${escapeHtml(e.summary)}${remarks}</li>`;
  });
  return {
    body: [HEADING, ...lines].join("\n"),
    html: `<p>${escapeHtml(HEADING)}</p><ul>${items.join("")}</ul>`,
  };
}

/**
 * The answer to a command that does not exist: that it does not, the closest command when the
 * name looks like a typo of one, then the help.
 */
export function unknownCommandMessage(typed: string, commands: readonly ChatCommand[], prefix: string, powerLevel: number): FormattedText {
  const shown = `${prefix} ${typed.length > MAX_ECHO ? `${typed.slice(0, MAX_ECHO - 1)}…` : typed}`;
  const names = commands.flatMap((c) => [c.name, ...c.aliases]);
  // Two edits even for a short name: a swapped pair of letters ("dnoe") counts as two.
  const guess = closestMatch(typed, names, Math.max(2, Math.min(3, Math.floor(typed.length / 3))));
  const help = helpMessage(commands, prefix, powerLevel);
  const suggestion = guess === undefined ? "" : ` Did you mean \`${prefix} ${guess}\`?`;
  const htmlSuggestion = guess === undefined ? "" : ` Did you mean <code>${escapeHtml(`${prefix} ${guess}`)}</code>?`;
  return {
    body: `\`${shown}\` is not a command.${suggestion}\n\n${help.body}`,
    html: `<p><code>${escapeHtml(shown)}</code> is not a command.${htmlSuggestion}</p>${help.html}`,
  };
}
