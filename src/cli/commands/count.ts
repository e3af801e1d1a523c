import { parseUserId } from "../../core/ids.ts";
import { countRequest } from "../../core/usecases/count-request.ts";
import type { CliCommand } from "../command.ts";

export const count: CliCommand = {
  path: ["count"],
  summary: "Count a request for a user and their homeserver without contacting them",
  args: [{ name: "mxid", description: "the user, e.g. @alice:example.com", required: true }],
  json: true,
  examples: ["honoroit count @alice:example.com"],
  async run({ args }, ctx) {
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
  },
};
