import { CONFIG_KEYS, fileEnvOf, fileKeyOf, nestDotted, specOf } from "./schema.ts";

/** The README markers around the generated reference table. */
export const REFERENCE_START = "<!-- config-reference:start -->";
export const REFERENCE_END = "<!-- config-reference:end -->";

/** The command that regenerates the example file and the README reference. */
export const REGENERATE_COMMAND = "npx tsx test/config/write-example.ts";

/** The example config file: every key nested as in the file, with its default (null: none). */
export function renderExampleConfig(): string {
  const root = nestDotted(Object.fromEntries(CONFIG_KEYS.map((key) => [key, specOf(key).default])));
  return `${JSON.stringify(root, null, 2)}\n`;
}

function code(text: string): string {
  return `\`${text}\``;
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function showDefault(value: unknown): string {
  if (value === null) return "—";
  return code(typeof value === "string" ? value : JSON.stringify(value));
}

/** The Markdown reference of every key (key | environment | default | description), for the README. */
export function renderConfigReference(): string {
  const rows = CONFIG_KEYS.map((key) => {
    const spec = specOf(key);
    const keys = spec.fromFile === true ? `${code(key)} or ${code(fileKeyOf(key))}` : code(key);
    const envs = [code(spec.env)];
    if (spec.fromFile === true) envs.push(`or ${code(fileEnvOf(key))}`);
    if (spec.envAliases !== undefined) envs.push(`(older: ${spec.envAliases.map(code).join(", ")})`);
    const shown = spec.defaultDoc ?? showDefault(spec.default);
    const description = spec.secret === true ? `${spec.description} Secret.` : spec.description;
    return `| ${keys} | ${envs.join(" ")} | ${cell(shown)} | ${cell(description)} |`;
  });
  return [
    "| key | environment | default | description |",
    "|---|---|---|---|",
    ...rows,
    "",
    "Precedence, highest first: command-line flags, the environment, the config file, the defaults.",
    "The config file (`honoroit.config.json`, `.honoroitrc` or `.honoroitrc.json` in the working folder, or `--config FILE`) is JSON and nests dotted keys: `db.dialect` is `{\"db\": {\"dialect\": …}}`.",
    "A `…File` key (or `…_FILE` variable) names a file whose content, without the trailing newline, is the value, so secrets stay out of unit files and shell history.",
    "Booleans in the environment accept yes/true/1/y/on and no/false/0/n/off; an empty variable counts as unset.",
    "",
  ].join("\n");
}

/**
 * The README with its reference section replaced by `renderConfigReference()`,
 * or undefined when the README lacks the markers.
 */
export function spliceConfigReference(readme: string): string | undefined {
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END);
  if (start === -1 || end === -1 || end < start) return undefined;
  return `${readme.slice(0, start)}${REFERENCE_START}\n${renderConfigReference()}${readme.slice(end)}`;
}

/**
 * Why the README's reference section is stale or missing, or undefined when it matches
 * `renderConfigReference()`. `readme` is undefined when there is no README.
 */
export function configReferenceProblem(readme: string | undefined): string | undefined {
  if (readme === undefined) {
    return `README.md is missing; create it with a "${REFERENCE_START}" line and a "${REFERENCE_END}" line, then run ${REGENERATE_COMMAND}`;
  }
  const spliced = spliceConfigReference(readme);
  if (spliced === undefined) {
    return `README.md has no config reference section; add a "${REFERENCE_START}" line and a "${REFERENCE_END}" line where it belongs, then run ${REGENERATE_COMMAND}`;
  }
  if (spliced !== readme) return `the config reference in README.md is stale; run ${REGENERATE_COMMAND}`;
  return undefined;
}
