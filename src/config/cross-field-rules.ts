import { CONFIG_KEYS, specOf } from "./schema.ts";
import type { ConfigKey, HonoroitConfig } from "./schema.ts";
import { isFullUserId } from "./parsers.ts";
import type { Problem, Source } from "./problem.ts";

/** How the bot logs in, in order of preference when several are set. */
export type AuthMethod = "token" | "sharedSecret" | "password";
const AUTH_ORDER: readonly AuthMethod[] = ["token", "sharedSecret", "password"];

/** The login method `serve` uses: token first, then sharedSecret, then password; null when none is set. */
export function authMethod(config: HonoroitConfig): AuthMethod | null {
  return AUTH_ORDER.find((method) => config[method] !== null) ?? null;
}

/** Rules between keys that each parse fine on their own: login methods, metrics auth, the Redmine sync. */
export function crossFieldRules(
  config: HonoroitConfig,
  sourceOf: (key: ConfigKey) => Source,
  problems: { errors: Problem[]; warnings: Problem[] },
): void {
  const methods = AUTH_ORDER.filter((method) => config[method] !== null);
  const used = methods[0];
  if (methods.length > 1 && used !== undefined) {
    problems.warnings.push({
      key: used,
      source: sourceOf(used),
      message: `${methods.join(", ")} are all set; ${used} is used and the others are ignored`,
    });
  }
  if (used === "sharedSecret" && config.login !== null && !isFullUserId(config.login)) {
    problems.errors.push({
      key: "login",
      source: sourceOf("login"),
      message: `must be a full Matrix ID (@user:server) when logging in with sharedSecret, got "${config.login}"`,
    });
  }

  const metrics = config.metrics;
  if (metrics.login !== null && metrics.password === null) {
    problems.errors.push({ key: "metrics.password", source: "default", message: "required when metrics.login is set (HONOROIT_METRICS_PASSWORD)" });
  }
  if (metrics.password !== null && metrics.login === null) {
    problems.errors.push({ key: "metrics.login", source: "default", message: "required when metrics.password is set (HONOROIT_METRICS_LOGIN)" });
  }

  // Keys with a default (the poll interval) do not turn the sync on by being set.
  const redmineKeys = CONFIG_KEYS.filter((k) => k.startsWith("redmine.") && specOf(k).default === null);
  const redmine = config.redmine;
  const setKey = redmineKeys.find((k) => sourceOf(k) !== "default");
  if (setKey !== undefined) {
    const required: [ConfigKey, unknown][] = [
      ["redmine.host", redmine.host],
      ["redmine.apiKey", redmine.apiKey],
      ["redmine.project", redmine.project],
    ];
    for (const [key, value] of required) {
      if (value === null) {
        problems.errors.push({
          key,
          source: sourceOf(key),
          message: `required for the Redmine sync, which is on because ${setKey} is set (${specOf(key).env})`,
          capability: "redmine",
        });
      }
    }
  }
}
