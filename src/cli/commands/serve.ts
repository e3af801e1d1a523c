import type { CommandInput } from "../command.ts";
import type { CliContext } from "../context.ts";
import type { Output } from "../output.ts";

/** `honoroit serve`, as declared in the command table (index.ts). */
export async function run(input: CommandInput, ctx: CliContext): Promise<Output> {
  const config = await ctx.config(["redmine"]);
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
}
