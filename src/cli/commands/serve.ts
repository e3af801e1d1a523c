import type { CliCommand } from "../command.ts";

export const serve: CliCommand = {
  path: ["serve"],
  summary: "Run the helpdesk bot (until SIGTERM or Ctrl-C)",
  examples: [
    "honoroit serve",
    "honoroit --config /etc/honoroit/honoroit.config.json serve",
    "HONOROIT_HOMESERVER=https://matrix.example.com HONOROIT_LOGIN=honoroit HONOROIT_PASSWORD=… HONOROIT_ROOMID='!ops:example.com' honoroit serve",
    "honoroit serve --standby   # a second machine on the same PostgreSQL: takes over when the active one stops",
  ],
  options: [
    {
      flags: "--standby",
      description: "if another serve is active on this database, wait and take over when it stops (instead of refusing to start)",
    },
  ],
  async run(input, ctx) {
    const config = await ctx.config();
    const { requireMatrixLogin } = await import("../../config/load.ts");
    const matrix = requireMatrixLogin(config);
    const logger = await ctx.logger();
    const store = await ctx.store();
    const { openServeLock } = await import("../../adapters/storage/serve-lock.ts");
    const lock = await openServeLock(config.db.dialect, config.db.dsn, logger);
    const controller = new AbortController();
    const stop = (signal: string): void => {
      logger.info("stopping", { signal });
      controller.abort();
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
    const { serve: run } = await import("../../serve/serve.ts");
    await run({ config, matrix, store, logger, clock: ctx.clock, signal: controller.signal, lock, standby: input.options["standby"] === true });
    return { kind: "done" };
  },
};
