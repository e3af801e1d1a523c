import { HonoroitError } from "../../core/errors.ts";
import { OPTION_KEYS, parseOption, parseOptionKey } from "../../core/options.ts";
import { RuntimeOptions } from "../../core/runtime-options.ts";
import type { CommandInput } from "../command.ts";
import type { CliContext } from "../context.ts";
import type { Output } from "../output.ts";

/** `KEY VALUE...` → the key and the value words joined by single spaces, both checked against the table. */
export function parseSetArgs(args: readonly string[]): { key: string; value: string } {
  const [key, ...words] = args;
  if (key === undefined || words.length === 0) {
    throw new HonoroitError("BAD_ARGUMENT", `usage: honoroit config set KEY VALUE... (keys: ${OPTION_KEYS.join(", ")})`);
  }
  const checked = parseOptionKey(key);
  const value = words.join(" ");
  parseOption(checked, value);
  return { key: checked, value };
}

/** When a serve runs on this database, has it read the options now; undefined when none runs. */
async function tellRunningServe(ctx: CliContext): Promise<boolean | undefined> {
  const config = await ctx.config();
  const { openServeLock } = await import("../../adapters/storage/serve-lock.ts");
  const lock = await openServeLock(config.db.dialect, config.db.dsn, await ctx.logger());
  const free = await lock.tryAcquire();
  await lock.release();
  if (free) return undefined;
  const { handOffReloadOptions } = await import("../../core/usecases/hand-off.ts");
  return handOffReloadOptions(await ctx.store(), ctx.clock, 5000);
}

/** `honoroit config set`, as declared in the command table (index.ts). */
export async function run({ args }: CommandInput, ctx: CliContext): Promise<Output> {
  // Check the arguments before opening anything, so a typo costs no database connection.
  const { key, value } = parseSetArgs(args);
  const store = await ctx.store();
  const options = await RuntimeOptions.load(store.options, await ctx.logger());
  const change = await options.set(key, value);
  const applied = await tellRunningServe(ctx);
  return {
    kind: "lines",
    lines: [`${change.key} = ${change.stored}`, ...(applied === undefined ? [] : [applied ? "(the running serve uses it now)" : "(the running serve did not answer within 5 s; it reads options every 30 s)"])],
    json: { key: change.key, value: change.stored, ...(applied === undefined ? {} : { appliedByServe: applied }) },
  };
}
