import { CHAT_COMMANDS } from "../chat/commands.ts";
import { SCOPE_WORDS } from "../chat/help.ts";
import { renderConfigReference } from "../config/example.ts";
import { OPTION_TABLE } from "../core/options.ts";

/** The command that rewrites every generated README section (and the example config). */
export const REGENERATE_DOCS = "npx tsx test/config/write-example.ts";

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The chat commands, from the same table the bot's help text comes from. */
export function renderChatCommands(prefix = "!ho"): string {
  const rows = CHAT_COMMANDS.map((c) => {
    const aliases = c.aliases.length > 0 ? ` (also ${c.aliases.map((a) => `\`${a}\``).join(", ")})` : "";
    return `| \`${prefix} ${c.usage}\`${aliases} | ${cell(c.summary)} | ${SCOPE_WORDS[c.scope]} |`;
  });
  const unknown = "| anything else | says the command is unknown (and which one was probably meant, for a typo), then the help | |";
  return ["| command | what it does | where |", "|---|---|---|", ...rows, unknown, ""].join("\n");
}

/** The chat-configurable options, from the option table. */
export function renderChatOptions(): string {
  const rows = OPTION_TABLE.map((o) => `| \`${o.key}\` | ${cell(o.default === "" ? "(empty)" : o.default)} | ${cell(o.description)} Accepts: ${cell(o.accepts)}. |`);
  return ["| option | default | description |", "|---|---|---|", ...rows, ""].join("\n");
}

/** Every README section generated from code: its marker name and its content. */
export const README_SECTIONS: readonly { readonly name: string; readonly render: () => string }[] = [
  { name: "config-reference", render: renderConfigReference },
  { name: "chat-commands", render: () => renderChatCommands() },
  { name: "chat-options", render: renderChatOptions },
];

/** The README with one generated section replaced, or undefined when its markers are missing. */
export function spliceSection(readme: string, name: string, content: string): string | undefined {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = readme.indexOf(start);
  const j = readme.indexOf(end);
  if (i === -1 || j === -1 || j < i) return undefined;
  return `${readme.slice(0, i)}${start}\n${content}${readme.slice(j)}`;
}

/** The README with every generated section up to date, and the names of sections without markers. */
export function regenerateReadme(readme: string): { readme: string; missing: string[] } {
  let out = readme;
  const missing: string[] = [];
  for (const section of README_SECTIONS) {
    const next = spliceSection(out, section.name, section.render());
    if (next === undefined) missing.push(section.name);
    else out = next;
  }
  return { readme: out, missing };
}
