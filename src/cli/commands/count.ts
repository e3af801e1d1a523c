import { parseUserId } from "../../core/ids.ts";
import { countRequest } from "../../core/usecases/count-request.ts";
import type { CommandInput } from "../command.ts";
import type { CliContext } from "../context.ts";
import type { Output } from "../output.ts";

/** `honoroit count`, as declared in the command table (index.ts). */
export async function run({ args }: CommandInput, ctx: CliContext): Promise<Output> {
  const user = parseUserId(args[0] ?? "");
  const store = await ctx.store();
  const counted = await countRequest({ store, clock: ctx.clock }, user);
  return {
    kind: "lines",
    lines: [`counted: ${counted.summary}`],
    json: {
      customer: counted.customer,
      homeserver: counted.homeserver,
      customerOrdinal: counted.customerOrdinal,
      homeserverOrdinal: counted.homeserverOrdinal,
    },
  };
}
