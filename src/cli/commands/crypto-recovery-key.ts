import { keptRecoveryKey } from "../../adapters/crypto/recovery-key.ts";
import { HonoroitError } from "../../core/errors.ts";
import type { CommandInput } from "../command.ts";
import type { CliContext } from "../context.ts";
import type { Output } from "../output.ts";

/** `honoroit crypto recovery-key`, as declared in the command table (index.ts). */
export async function run(_input: CommandInput, ctx: CliContext): Promise<Output> {
  const config = await ctx.config();
  const store = await ctx.store({ mustExist: true });
  const kept = await keptRecoveryKey(store.kv, config.dataSecret ?? undefined);
  if ("missing" in kept) {
    throw kept.missing === "sealed"
      ? new HonoroitError("BAD_CONFIG", "the recovery key is sealed with another data secret: run with the HONOROIT_DATA_SECRET serve uses")
      : new HonoroitError("NOT_FOUND", "there is no key backup yet: serve makes one at its first start with encryption on (see its log)");
  }
  return { kind: "lines", lines: recoveryKeyLines(kept.key), json: { recoveryKey: kept.key } };
}

/** The recovery key and what to do with it. */
export function recoveryKeyLines(key: string): string[] {
  return [
    key,
    "",
    "Keep this key somewhere safe, away from the database. If the database is lost, start the new",
    "serve with HONOROIT_RECOVERY_KEY set to it: the bot's new device restores its room keys",
    "from the account's key backup.",
  ];
}
