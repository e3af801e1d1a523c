import type { CliContext } from "./context.ts";
import type { Output } from "./output.ts";

/** A positional argument of a CLI command. */
export interface ArgSpec {
  readonly name: string;
  readonly description: string;
  readonly required: boolean;
  readonly variadic?: boolean;
}

/** An option of a CLI command, in commander's flag syntax (`--since <duration>`). */
export interface OptionSpec {
  readonly flags: string;
  readonly description: string;
  readonly defaultValue?: string | boolean;
  readonly choices?: readonly string[];
}

/** What a command receives: positional arguments and raw option values by camelCase name. */
export interface CommandInput {
  readonly args: readonly string[];
  readonly options: Readonly<Record<string, unknown>>;
}

/** What a command does: returns data; printing is the output module's job; errors go to the one boundary. */
export type CommandRun = (input: CommandInput, ctx: CliContext) => Promise<Output>;

/**
 * One CLI subcommand, declared once, in the table of commands/index.ts: help, options and
 * examples are generated from it. Its `run` lives in the command's own file.
 */
export interface CliCommand {
  /** Words after `honoroit`, e.g. `["tickets", "list"]`. */
  readonly path: readonly string[];
  readonly summary: string;
  readonly args?: readonly ArgSpec[];
  readonly options?: readonly OptionSpec[];
  readonly examples: readonly string[];
  /** Whether `--json` is offered (every command whose output is data). */
  readonly json?: boolean;
  readonly run: CommandRun;
}
