import { existsSync } from "node:fs";
import { HonoroitError } from "../core/errors.ts";
import type { Clock, Logger, LogLevel, Store } from "../core/ports.ts";
import type { Capability, Problem } from "../config/problem.ts";
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
  /**
   * The validated configuration (throws a BAD_CONFIG error listing every problem). A problem of
   * a capability the command does not name in `uses` (an unfinished Redmine setup for
   * `tickets list`) is a warning instead.
   */
  config(uses?: readonly Capability[]): Promise<HonoroitConfig>;
  logger(): Promise<Logger>;
  /** The store, migrated to the current schema. */
  store(options?: { mustExist?: boolean }): Promise<Store>;
  /** Registers something to release when the command ends. */
  onDispose(fn: () => Promise<void>): void;
  dispose(): Promise<void>;
}

const systemClock: Clock = { now: () => new Date() };

/** What stops without each capability's settings, as its deferred problems say. */
const USED_BY: Readonly<Record<Capability, string>> = {
  redmine: "serve and redmine resync refuse to start",
};

/** The CLI's composition root. */
export function createCliContext(
  globals: GlobalOptions,
  env: NodeJS.ProcessEnv = process.env,
  warn: (line: string) => void = (line) => process.stderr.write(line + "\n"),
): CliContext {
  let loaded: Promise<{ config: HonoroitConfig; deferred: Problem[] }> | undefined;
  let storePromise: Promise<Store> | undefined;
  let loggerInstance: Logger | undefined;
  const disposers: (() => Promise<void>)[] = [];

  const config = async (uses: readonly Capability[] = []): Promise<HonoroitConfig> => {
    const needs = (p: Problem): boolean => p.capability === undefined || uses.includes(p.capability);
    loaded ??= (async () => {
      const { loadConfig, assertValid, formatProblem } = await import("../config/load.ts");
      const flags: Record<string, unknown> = {};
      if (globals.logLevel !== undefined) flags["logLevel"] = globals.logLevel;
      const result = await loadConfig({
        ...(globals.config === undefined ? {} : { configFile: globals.config }),
        env,
        flags,
      });
      const deferred = result.errors.filter((p) => !needs(p));
      const config = assertValid({ ...result, errors: result.errors.filter(needs) });
      const { notYetWarnings } = await import("../config/not-yet.ts");
      const unfinished = deferred.map((p) => (p.capability === undefined ? p : { ...p, message: `${p.message}; ${USED_BY[p.capability]} until it is set` }));
      for (const w of [...result.warnings, ...notYetWarnings(config, (key) => result.sources.get(key)), ...unfinished]) {
        warn(`warning: ${formatProblem(w)}`);
      }
      return { config, deferred };
    })();
    const { config: cfg, deferred } = await loaded;
    const missing = deferred.filter(needs);
    if (missing.length > 0) {
      const { assertValid } = await import("../config/load.ts");
      assertValid({ config: cfg, sources: new Map(), warnings: [], errors: missing });
    }
    return cfg;
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
