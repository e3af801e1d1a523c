import type { HonoroitConfig } from "./schema.ts";
import type { Problem, Source } from "./problem.ts";
import type { ConfigKey } from "./schema.ts";

/**
 * Settings this version accepts (so a Go bot's environment loads) but does not act on yet.
 * Someone who set one must hear that it does nothing, rather than find out in an outage.
 */
const NOT_YET: readonly { readonly key: ConfigKey; readonly isSet: (c: HonoroitConfig) => boolean; readonly note: string }[] = [];

/** A warning for every setting that is set but does nothing in this version. */
export function notYetWarnings(config: HonoroitConfig, sourceOf: (key: ConfigKey) => Source | undefined): Problem[] {
  return NOT_YET.filter((n) => n.isSet(config)).map((n) => ({ key: n.key, source: sourceOf(n.key) ?? "default", message: n.note }));
}
