import { CONFIG_KEYS, fileEnvOf, fileKeyOf, specOf } from "./schema.ts";
import { isUnset, suggestion } from "./layer.ts";
import type { Layer, RawValue } from "./layer.ts";
import type { Problem } from "./problem.ts";

/** Every environment variable we read, mapped to the dotted key (or `…File` key) it sets. */
const KNOWN_ENV: ReadonlyMap<string, string> = new Map(
  CONFIG_KEYS.flatMap((key) => {
    const spec = specOf(key);
    const names: [string, string][] = [[spec.env, key]];
    for (const alias of spec.envAliases ?? []) names.push([alias, key]);
    if (spec.fromFile === true) names.push([fileEnvOf(key), fileKeyOf(key)]);
    return names;
  }),
);

/** The `HONOROIT_*` variables as a layer; older names and unknown variables are warned about. */
export function envLayer(env: NodeJS.ProcessEnv, cwd: string, warnings: Problem[]): Layer {
  const values = new Map<string, RawValue>();
  for (const key of CONFIG_KEYS) {
    const spec = specOf(key);
    const names = [spec.env, ...(spec.envAliases ?? [])];
    const setNames = names.filter((name) => !isUnset(env[name]));
    const name = setNames[0];
    if (name !== undefined) {
      values.set(key, { raw: env[name], source: `env ${name}` });
      if (name !== spec.env) {
        warnings.push({ key, source: `env ${name}`, message: `${name} is an older name for ${spec.env}; it still works, but prefer ${spec.env}` });
      }
      for (const ignored of setNames.slice(1)) {
        warnings.push({ key, source: `env ${ignored}`, message: `${ignored} is ignored because ${name} is set` });
      }
    }
    if (spec.fromFile === true) {
      const fileEnv = fileEnvOf(key);
      if (!isUnset(env[fileEnv])) values.set(fileKeyOf(key), { raw: env[fileEnv], source: `env ${fileEnv}` });
    }
  }
  for (const name of Object.keys(env)) {
    if (!name.startsWith("HONOROIT_") || KNOWN_ENV.has(name)) continue;
    const isFileVariant = name.endsWith("_FILE") && KNOWN_ENV.has(name.slice(0, -"_FILE".length));
    const message = isFileVariant
      ? `unknown environment variable ${name}: only secrets can be read from a file (${[...KNOWN_ENV.keys()].filter((n) => n.endsWith("_FILE")).join(", ")})`
      : `unknown environment variable ${name}${suggestion(name, KNOWN_ENV.keys())}`;
    warnings.push({ key: name, source: `env ${name}`, message });
  }
  return { origin: "env", values, baseDir: cwd };
}
