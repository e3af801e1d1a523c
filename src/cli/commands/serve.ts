import type { CliCommand } from "../command.ts";

export const serve: CliCommand = {
  path: ["serve"],
  summary: "Run the helpdesk bot (until SIGTERM or Ctrl-C)",
  examples: [
    "honoroit serve",
    "honoroit --config /etc/honoroit/honoroit.config.json serve",
    "HONOROIT_HOMESERVER=https://matrix.example.com HONOROIT_LOGIN=honoroit HONOROIT_PASSWORD=… HONOROIT_ROOMID='!ops:example.com' honoroit serve",
  ],
  async run(_input, ctx) {
    const config = await ctx.config();
    const { requireMatrixLogin } = await import("../../config/load.ts");
    const matrix = requireMatrixLogin(config);
    const logger = await ctx.logger();
    const store = await ctx.store();
    const controller = new AbortController();
    const stop = (signal: string): void => {
      logger.info("stopping", { signal });
      controller.abort();
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
    const { serve: run } = await import("../../serve/serve.ts");
    await run({ config, matrix, store, logger, clock: ctx.clock, signal: controller.signal });
    return { kind: "done" };
  },
};
