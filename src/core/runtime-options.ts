import {
  OPTION_TABLE,
  formatOption,
  optionDef,
  parseOption,
  parseOptionKey,
  type OptionKey,
  type OptionValues,
} from "./options.ts";
import type { Logger, OptionStore } from "./ports.ts";

/** One option as people see it. */
export interface OptionListing {
  readonly key: OptionKey;
  /** The current value in stored (normalised) form. */
  readonly value: string;
  /** Whether the current value is the default (nothing stored, or the same value stored). */
  readonly isDefault: boolean;
  /** The default in stored form. */
  readonly default: string;
  readonly description: string;
  /** The accepted values, for people. */
  readonly accepts: string;
}

/** What `set` and `reset` stored. */
export interface OptionChange {
  readonly key: OptionKey;
  readonly stored: string;
}

type Cache = { -readonly [K in OptionKey]: OptionValues[K] };

function defaults(): Cache {
  const cache: Partial<Record<OptionKey, unknown>> = {};
  for (const def of OPTION_TABLE) cache[def.key] = def.parse(def.default);
  return cache as Cache;
}

/**
 * The runtime options in effect: read from the store once by `load`, then served from memory;
 * `set` and `reset` persist and take effect at once in this process.
 */
export class RuntimeOptions {
  private cache: Cache | undefined;

  constructor(
    private readonly store: OptionStore,
    private readonly logger: Logger,
  ) {}

  /** Builds and loads in one step. */
  static async load(store: OptionStore, logger: Logger): Promise<RuntimeOptions> {
    const options = new RuntimeOptions(store, logger);
    await options.load();
    return options;
  }

  /**
   * Reads the stored values (again, when called twice). A stored value that no longer parses
   * is logged and replaced by the default rather than stopping the bot; unknown keys are logged.
   */
  async load(): Promise<void> {
    const stored = await this.store.all();
    const cache = defaults();
    const mutable = cache as Record<OptionKey, unknown>;
    for (const [key, raw] of stored) {
      const def = OPTION_TABLE.find((d) => d.key === key);
      if (def === undefined) {
        this.logger.warn("ignoring an unknown stored option", { key });
        continue;
      }
      try {
        mutable[def.key] = def.parse(raw);
      } catch (error) {
        this.logger.warn("stored option is not valid any more; using its default", {
          key,
          stored: raw,
          default: def.default,
          problem: error instanceof Error ? error.message : String(error),
        });
      }
    }
    this.cache = cache;
  }

  /** The value in effect. Throws before `load`, so a default never stands in for a stored value by accident. */
  get<K extends OptionKey>(key: K): OptionValues[K] {
    return this.loaded()[key];
  }

  /** Every option, in table order. */
  list(): OptionListing[] {
    return OPTION_TABLE.map((def) => this.listing(def.key));
  }

  /** One option as people see it; the key is checked as `set` checks it. */
  describe(key: string): OptionListing {
    return this.listing(parseOptionKey(key));
  }

  /** Validates, persists the normalised value and applies it. Throws BAD_ARGUMENT naming the accepted values. */
  async set(key: string, raw: string): Promise<OptionChange> {
    const k = parseOptionKey(key);
    const value = parseOption(k, raw);
    const stored = formatOption(k, value);
    const cache = this.loaded();
    await this.store.set(k, stored);
    (cache as Record<OptionKey, unknown>)[k] = value;
    return { key: k, stored };
  }

  /** Forgets the stored value, so the default applies again. */
  async reset(key: string): Promise<OptionChange> {
    const k = parseOptionKey(key);
    const def = optionDef(k);
    const cache = this.loaded();
    await this.store.delete(k);
    (cache as Record<OptionKey, unknown>)[k] = def.parse(def.default);
    return { key: k, stored: def.default };
  }

  private listing(key: OptionKey): OptionListing {
    const def = optionDef(key);
    const value = formatOption(key, this.get(key));
    return {
      key,
      value,
      isDefault: value === def.format(def.parse(def.default)),
      default: def.default,
      description: def.description,
      accepts: def.accepts,
    };
  }

  private loaded(): Cache {
    if (this.cache === undefined) throw new Error("RuntimeOptions used before load()");
    return this.cache;
  }
}

/** Shows a value on one line: line breaks become `\n`, an empty value `(none)`. */
export function oneLine(value: string): string {
  return value === "" ? "(none)" : value.replace(/\r?\n/g, "\\n");
}

/**
 * Lines for people (chat and CLI): every option as `key: value`, marked when it is the default;
 * or one option with its description, accepted values and default. An unknown key is a
 * BAD_ARGUMENT with a suggestion. The data behind them is `options.list()` / `options.describe(key)`.
 */
export function showOptions(options: RuntimeOptions, key?: string): string[] {
  if (key === undefined) {
    return options.list().map((o) => `${o.key}: ${oneLine(o.value)}${o.isDefault ? " (default)" : ""}`);
  }
  const o = options.describe(key);
  return [
    `${o.key}: ${o.value === "" ? "(none)" : o.value}${o.isDefault ? " (default)" : ""}`,
    o.description,
    `accepted: ${o.accepts}`,
    ...(o.isDefault ? [] : [`default: ${oneLine(o.default)}`]),
  ];
}
