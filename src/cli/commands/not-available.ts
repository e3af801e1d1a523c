import { HonoroitError } from "../../core/errors.ts";
import type { CliCommand } from "../command.ts";

/** A declared command whose capability is not built yet: it says so and exits 2. */
export function notAvailable(spec: Omit<CliCommand, "run">): CliCommand {
  return {
    ...spec,
    run() {
      return Promise.reject(
        new HonoroitError("NOT_AVAILABLE", `\`honoroit ${spec.path.join(" ")}\` is not available yet in this version`),
      );
    },
  };
}
