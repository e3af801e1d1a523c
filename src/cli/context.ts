import { existsSync } from "node:fs";
import { HonoroitError } from "../core/errors.ts";
import type { Clock, Logger, LogLevel, Store } from "../core/ports.ts";
import type { HonoroitConfig } from "../config/schema.ts";

/** Options every command accepts. */
export interface GlobalOptions {
  readonly config?: string;
  readonly logLevel?: string;
}

/**
 * What a CLI command may use. Everything is built on first use, so `--help` loads no
 * database driver and no Matrix SDK, and `dispose` releases whatever was opened.
 */
export interface CliContext {
  readonly globals: GlobalOptions;
  readonly clock: Clock;
  /** The validated configuration (throws a BAD_CONFIG error listing every problem). */
  config(): Promise<HonoroitConfig>;
  logger(): Promise<Logger>;
  /** The store, migrated to the current schema. */
  store(options?: { mustExist?: boolean }): Promise<Store>;
  /** Registers something to release when the command ends. */
  onDispose(fn: () => Promise<void>): void;
  dispose(): Promise<void>;
}

const systemClock: Clock = { now: () => new Date() };

/** The CLI's composition root. */
export function createCliContext(
  globals: GlobalOptions,
  env: NodeJS.ProcessEnv = process.env,
  warn: (line: string) => void = (line) => process.stderr.write(line + "\n"),
): CliContext {
  let configPromise: Promise<HonoroitConfig> | undefined;
  let storePromise: Promise<Store> | undefined;
  let loggerInstance: Logger | undefined;
  const disposers: (() => Promise<void>)[] = [];

  const config = (): Promise<HonoroitConfig> => {
    configPromise ??= (async () => {
      const { loadConfig, assertValid, formatProblem } = await import("../config/load.ts");
      const flags: Record<string, unknown> = {};
      if (globals.logLevel !== undefined) flags["logLevel"] = globals.logLevel;
      const result = await loadConfig({
        ...(globals.config === undefined ? {} : { configFile: globals.config }),
        env,
        flags,
      });
      const config = assertValid(result);
      const { notYetWarnings } = await import("../config/not-yet.ts");
      for (const w of [...result.warnings, ...notYetWarnings(config, (key) => result.sources.get(key))]) {
        warn(`warning: ${formatProblem(w)}`);
      }
      return config;
    })();
    return configPromise;
  };

  const ctx: CliContext = {
    globals,
    clock: systemClock,
    config,
    async logger() {
      if (loggerInstance === undefined) {
        const level: LogLevel = (await config()).logLevel;
        const { StreamLogger } = await import("../adapters/log/stream-logger.ts");
        loggerInstance ??= new StreamLogger(level);
      }
      return loggerInstance;
    },
    store(options) {
      storePromise ??= (async () => {
        const cfg = await config();
        if (options?.mustExist === true && cfg.db.dialect === "sqlite" && cfg.db.dsn !== ":memory:" && !existsSync(cfg.db.dsn)) {
          throw new HonoroitError(
            "NOT_FOUND",
            `no database at ${cfg.db.dsn} (set db.dsn / HONOROIT_DB_DSN, or create it with \`honoroit migrate\`)`,
          );
        }
        const { openStore } = await import("../adapters/storage/open-store.ts");
        const store = await openStore({ dialect: cfg.db.dialect, dsn: cfg.db.dsn });
        disposers.push(() => store.close());
        await store.migrate();
        return store;
      })();
      return storePromise;
    },
    onDispose(fn) {
      disposers.push(fn);
    },
    async dispose() {
      for (const fn of disposers.reverse()) {
        await fn().catch(() => undefined);
      }
      disposers.length = 0;
    },
  };
  return ctx;
}
