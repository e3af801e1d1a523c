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
  splitListenAddress(values, warnings);
  return { origin: "env", values, baseDir: cwd };
}

/**
 * The Go bot reads `HONOROIT_PORT` as a listen address: `:8080` is every interface, `host:8080`
 * one address. Its env file must start us unchanged, so that form sets `host` as well as `port`;
 * a bare number stays a port (the host then defaults to this machine only).
 */
function splitListenAddress(values: Map<string, RawValue>, warnings: Problem[]): void {
  const port = values.get("port");
  if (port === undefined || typeof port.raw !== "string") return;
  const match = /^\s*(\[[^\]]*\]|[^:]*):(\s*[^:]*)$/.exec(port.raw);
  if (match === null) return;
  const [, hostPart = "", portPart = ""] = match;
  values.set("port", { raw: portPart.trim(), source: port.source });
  const host = LISTEN_HOSTS[hostPart.trim()] ?? hostPart.trim().replace(/^\[(.*)\]$/, "$1");
  const explicit = values.get("host");
  if (explicit !== undefined) {
    warnings.push({ key: "host", source: port.source, message: `the address in ${port.source.slice(4)} (${JSON.stringify(hostPart)}) is ignored because ${explicit.source.slice(4)} is set` });
    return;
  }
  values.set("host", { raw: host, source: port.source });
}

/** Host names in a Go listen address that are not IP addresses, and what Go listens on for them. */
const LISTEN_HOSTS: Readonly<Record<string, string>> = {
  "": "0.0.0.0",
  localhost: "127.0.0.1",
};
