import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CommanderError } from "commander";
import { COMMANDS } from "./commands/index.ts";
import { streamSink } from "./output.ts";
import { buildProgram } from "./program.ts";
import { packageVersion } from "./version.ts";

/** Runs the CLI with the given arguments and returns the process exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const err = streamSink(process.stderr, process.env);
  const program = buildProgram(COMMANDS, packageVersion(), {
    out: streamSink(process.stdout, process.env),
    err,
    // Loaded when a command runs, as the error boundary is when something fails: `--help` needs neither.
    makeContext: async (globals) => (await import("./context.ts")).createCliContext(globals),
    setExitCode: (code) => {
      exitCode = code;
    },
  });
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with code 0; usage mistakes were already printed.
      return error.exitCode === 0 ? 0 : 2;
    }
    const { reportError } = await import("./boundary.ts");
    return reportError(error, err, (line) => {
      const file = join(tmpdir(), `honoroit-error-${Date.now()}.log`);
      writeFileSync(file, line + "\n", { mode: 0o600 });
      process.stderr.write(`the stack is in ${file}\n`);
    });
  }
}

// A reader that goes away early (`honoroit tickets list | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const code = await runCli(process.argv.slice(2));
// Writes to a pipe are asynchronous: let them drain, or `honoroit tickets list | wc` is cut short.
await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => s.write("", () => resolve()))));
// Then exit explicitly: HTTP client timers (matrix-js-sdk) may otherwise keep the process alive.
process.exit(code);
