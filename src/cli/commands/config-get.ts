import { RuntimeOptions, oneLine, showOptions, type OptionListing } from "../../core/runtime-options.ts";
import { parseOptionKey } from "../../core/options.ts";
import type { CliCommand } from "../command.ts";

/** The JSON form of an option, stable for scripts. */
export function optionJson(o: OptionListing): Record<string, unknown> {
  return { key: o.key, value: o.value, isDefault: o.isDefault, default: o.default, description: o.description };
}

/** Long texts are cut in the table so the marker column stays readable; `config get KEY` shows all. */
const TABLE_VALUE_WIDTH = 60;

function tableValue(value: string): string {
  const line = oneLine(value);
  return line.length <= TABLE_VALUE_WIDTH ? line : line.slice(0, TABLE_VALUE_WIDTH - 1) + "…";
}

export const configGet: CliCommand = {
  path: ["config", "get"],
  summary: "Show chat-configurable options (all, or one with its description)",
  args: [{ name: "key", description: "option key, e.g. text.greetings", required: false }],
  json: true,
  examples: ["honoroit config get", "honoroit config get allow.users", "honoroit config get --json"],
  async run({ args }, ctx) {
    // Check the key before opening anything, so a typo costs no database connection.
    const key = args[0] === undefined ? undefined : parseOptionKey(args[0]);
    const store = await ctx.store({ mustExist: true });
    const options = await RuntimeOptions.load(store.options, await ctx.logger());
    if (key !== undefined) {
      const one = options.describe(key);
      return { kind: "lines", lines: showOptions(options, key), json: optionJson(one) };
    }
    const all = options.list();
    const cut = all.some((o) => tableValue(o.value) !== oneLine(o.value));
    return {
      kind: "table",
      columns: ["KEY", "VALUE", ""],
      rows: all.map((o) => [o.key, tableValue(o.value), o.isDefault ? "(default)" : ""]),
      empty: "no options",
      ...(cut ? { footer: "long values are cut short here; `honoroit config get KEY` shows one in full" } : {}),
      json: all.map(optionJson),
    };
  },
};
