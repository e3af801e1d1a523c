// The wizard behind `honoroit init`: each question has a flag, an answer is checked against the
// real thing, and a refusal is asked again with its reason (attended) or stops init before
// anything is written (unattended).
import { readFile } from "node:fs/promises";
import { HonoroitError, messageOf } from "../core/errors.ts";
import type { ConfigKey } from "../config/schema.ts";
import { specOf } from "../config/schema.ts";

/** The questions `init` asks, behind a port so the wizard can be driven by a test. */
export interface Prompter {
  input(question: { message: string; default?: string; validate: (value: string) => true | string }): Promise<string>;
  password(question: { message: string; validate: (value: string) => true | string }): Promise<string>;
  select<T extends string>(question: { message: string; choices: readonly { value: T; name: string }[]; default?: T }): Promise<T>;
  confirm(question: { message: string; default: boolean }): Promise<boolean>;
  /** A line for the person between questions: what was checked, and why an answer was refused. */
  note(text: string): void;
}

/** Validates one answer with the same parser the config loader uses. */
export function validateWith(key: ConfigKey): (value: string) => true | string {
  const spec = specOf(key);
  return (value) => {
    if (value.trim() === "") return "required";
    const parsed = spec.parse(value.trim(), { origin: "file", secret: spec.secret === true });
    return parsed.ok ? true : parsed.message;
  };
}

export type Answers = Partial<Record<ConfigKey | `${ConfigKey}File`, string | number | boolean>>;

/** `init`'s flags: every question has one; `--yes` takes the defaults for the rest. */
export interface InitFlags {
  readonly yes?: boolean;
  readonly homeserver?: string;
  readonly login?: string;
  readonly passwordFile?: string;
  readonly tokenFile?: string;
  readonly sharedSecretFile?: string;
  readonly roomId?: string;
  readonly createRoom?: boolean;
  readonly invite?: string;
  readonly dbDialect?: string;
  readonly dbDsn?: string;
  readonly port?: string;
  readonly metricsLogin?: string;
  readonly metricsPasswordFile?: string;
  readonly redmineHost?: string;
  readonly redmineApiKeyFile?: string;
  readonly redmineProject?: string;
  readonly redmineTracker?: string;
  readonly redmineNewStatus?: string;
  readonly redmineInProgressStatus?: string;
  readonly redmineDoneStatus?: string;
  /** False with --no-encryption. */
  readonly encryption?: boolean;
}

/**
 * Asks (or takes from a flag) and checks against the real thing; a refused answer is asked
 * again with the reason, or, unattended, stops `init` with it before anything is written.
 */
export class Wizard {
  constructor(
    private readonly prompter: Prompter | undefined,
    private readonly flags: InitFlags,
  ) {}

  get attended(): boolean {
    return this.prompter !== undefined;
  }

  flag<K extends keyof InitFlags>(name: K): InitFlags[K] {
    return this.flags[name];
  }

  note(text: string): void {
    this.prompter?.note(text);
  }

  /** The flag's value, else the question (attended), else the default (`--yes`), else an error naming the flag. */
  async answer<T>(flag: keyof InitFlags, ask: (p: Prompter) => Promise<T>, fallback?: T): Promise<T> {
    const given = this.flags[flag];
    if (given !== undefined) return given as T;
    if (this.prompter !== undefined) return ask(this.prompter);
    if (fallback !== undefined) return fallback;
    throw new HonoroitError("BAD_ARGUMENT", `--${kebab(flag)} is needed: unattended (--yes or no terminal), every answer without a default needs its flag; nothing was written`);
  }

  /** A question with no flag of its own (attended only). */
  ask<T>(question: (p: Prompter) => Promise<T>): Promise<T> {
    if (this.prompter === undefined) throw new Error("a question was asked unattended");
    return question(this.prompter);
  }

  /** Runs `attempt` until it succeeds; attended, a refusal is shown and the questions asked again. */
  async until<T>(attempt: (first: boolean) => Promise<T>): Promise<T> {
    for (let first = true; ; first = false) {
      try {
        return await attempt(first);
      } catch (error) {
        if (this.prompter === undefined || !(error instanceof HonoroitError)) throw error;
        this.prompter.note(`✗ ${error.message}`);
      }
    }
  }

  /** A flag's value the first time only: after a refusal, the person is asked instead. */
  withFlags(first: boolean): Wizard {
    return first || this.prompter === undefined ? this : new Wizard(this.prompter, {});
  }
}

/** A flag's name as typed: `redmineApiKeyFile` → `redmine-api-key-file`. */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** A secret read from the file a flag names, without its trailing newline; empty or unreadable is refused. */
export async function secretFromFile(file: string, what: string): Promise<string> {
  try {
    const text = (await readFile(file, "utf8")).replace(/\r?\n$/, "");
    if (text === "") throw new HonoroitError("BAD_ARGUMENT", `${file} (${what}) is empty`);
    return text;
  } catch (error) {
    if (error instanceof HonoroitError) throw error;
    throw new HonoroitError("BAD_ARGUMENT", `cannot read ${what} from ${file}: ${messageOf(error)}`);
  }
}
