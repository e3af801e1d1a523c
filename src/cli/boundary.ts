import { EXIT_INTERNAL, isHonoroitError, newReference } from "../core/errors.ts";
import { formatErrorLine, type Sink } from "./output.ts";

/**
 * The CLI's one error boundary: a HonoroitError becomes its message and exit code;
 * anything else a short line with a reference id, the stack going to the log under that id.
 */
export function reportError(error: unknown, err: Sink, log: (line: string) => void): number {
  const color = err.color === true;
  if (isHonoroitError(error)) {
    err.write(formatErrorLine(error.message, color) + "\n");
    for (const d of error.details) err.write(`  - ${d}\n`);
    return error.exitCode;
  }
  const ref = newReference();
  err.write(formatErrorLine(`internal error (reference ${ref}); details are in the log`, color) + "\n");
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  log(`${new Date().toISOString()} ERROR internal error ref=${ref} ${JSON.stringify(stack)}`);
  return EXIT_INTERNAL;
}
