import { Command, Option } from "commander";
import type { CliCommand } from "./command.ts";
import type { CliContext, GlobalOptions } from "./context.ts";
import { printOutput, type Output, type Sink } from "./output.ts";

/** Groups shown as parents of nested commands (`tickets list`). */
const GROUPS: Readonly<Record<string, string>> = {
  tickets: "List and close customer requests",
  redmine: "Redmine synchronisation",
  config: "Show and change the chat-configurable options",
  crypto: "End-to-end encryption keys",
};

export interface ProgramIo {
  readonly out: Sink;
  readonly err: Sink;
  /** Builds the composition root once the global options are known (loaded then: not for --help). */
  readonly makeContext: (globals: GlobalOptions) => Promise<CliContext>;
  /** Receives the command's exit code (0 unless the command says otherwise). */
  readonly setExitCode: (code: number) => void;
}

/** Builds the commander program from the command table; help is generated from the table. */
export function buildProgram(commands: readonly CliCommand[], version: string, io: ProgramIo): Command {
  const program = new Command("honoroit")
    .description("A Matrix helpdesk bot and operator toolkit")
    .version(version, "-V, --version")
    .option("-c, --config <file>", "configuration file (default: searched from the current directory)")
    .addOption(new Option("--log-level <level>", "log level").choices(["debug", "info", "warn", "error"]))
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) })
    .exitOverride();

  const groups = new Map<string, Command>();
  for (const spec of commands) {
    let parent = program;
    for (const word of spec.path.slice(0, -1)) {
      let group = groups.get(word);
      if (group === undefined) {
        group = parent.command(word).description(GROUPS[word] ?? word);
        group.configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) }).exitOverride();
        groups.set(word, group);
      }
      parent = group;
    }
    parent.addCommand(toCommander(spec, program, io));
  }
  return program;
}

function toCommander(spec: CliCommand, root: Command, io: ProgramIo): Command {
  const name = spec.path[spec.path.length - 1] ?? "";
  const cmd = new Command(name).description(spec.summary);
  for (const a of spec.args ?? []) {
    const token = a.variadic === true ? `${a.name}...` : a.name;
    cmd.argument(a.required ? `<${token}>` : `[${token}]`, a.description);
  }
  for (const o of spec.options ?? []) {
    const option = new Option(o.flags, o.description);
    if (o.defaultValue !== undefined) option.default(o.defaultValue);
    if (o.choices !== undefined) option.choices(o.choices);
    cmd.addOption(option);
  }
  if (spec.json === true) cmd.option("--json", "print JSON instead of a table");
  if (spec.examples.length > 0) {
    cmd.addHelpText("after", `\nExamples:\n${spec.examples.map((e) => `  $ ${e}`).join("\n")}\n`);
  }
  cmd.configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) }).exitOverride();
  cmd.action(async (...received: unknown[]) => {
    // commander passes the positional arguments, then the options object, then the command.
    const positional = received.slice(0, -2).flatMap((v): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : typeof v === "string" ? [v] : []));
    const options = cmd.opts<Record<string, unknown>>();
    const globals = root.opts<{ config?: string; logLevel?: string }>();
    const ctx = await io.makeContext({
      ...(globals.config === undefined ? {} : { config: globals.config }),
      ...(globals.logLevel === undefined ? {} : { logLevel: globals.logLevel }),
    });
    try {
      const output: Output = await spec.run({ args: positional, options }, ctx);
      await printOutput(output, options["json"] === true, io.out);
      if (output.kind === "done" && output.exitCode !== undefined) io.setExitCode(output.exitCode);
    } finally {
      await ctx.dispose();
    }
  });
  return cmd;
}
