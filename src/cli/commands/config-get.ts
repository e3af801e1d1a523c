import { RuntimeOptions, oneLine, showOptions, type OptionListing } from "../../core/runtime-options.ts";
import { parseOptionKey } from "../../core/options.ts";
import type { CommandInput } from "../command.ts";
import type { CliContext } from "../context.ts";
import type { Output } from "../output.ts";

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

/** `honoroit config get`, as declared in the command table (index.ts). */
export async function run({ args }: CommandInput, ctx: CliContext): Promise<Output> {
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
}
