import { existsSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { HonoroitError } from "../../core/errors.ts";
import type { ConfigKey } from "../../config/schema.ts";
import { nestDotted, specOf } from "../../config/schema.ts";
import type { CliCommand } from "../command.ts";

/** The questions `init` asks, behind a port so the wizard can be driven by a test. */
export interface Prompter {
  input(question: { message: string; default?: string; validate: (value: string) => true | string }): Promise<string>;
  password(question: { message: string; validate: (value: string) => true | string }): Promise<string>;
  select<T extends string>(question: { message: string; choices: readonly { value: T; name: string }[]; default?: T }): Promise<T>;
  confirm(question: { message: string; default: boolean }): Promise<boolean>;
}

/** Validates one answer with the same parser the config loader uses. */
export function validateWith(key: ConfigKey): (value: string) => true | string {
  const spec = specOf(key);
  return (value) => {
    if (value.trim() === "") return "required";
    const parsed = spec.parse(value.trim(), { origin: "file", secret: spec.secret === true });
    return parsed.ok ? true : parsed.message;
  };
}

type Answers = Partial<Record<ConfigKey, string | number>>;

/** Asks the questions; returns the flat answers by config key. */
export async function askInitQuestions(p: Prompter): Promise<Answers> {
  const answers: Answers = {};
  answers.homeserver = (await p.input({ message: "Homeserver URL", default: "https://matrix.example.com", validate: validateWith("homeserver") })).trim();
  const method = await p.select({
    message: "How does the bot log in?",
    choices: [
      { value: "password", name: "password (login is the bot's localpart, e.g. honoroit)" },
      { value: "token", name: "access token" },
      { value: "sharedSecret", name: "shared secret (com.devture.shared_secret_auth)" },
    ] as const,
    default: "password",
  });
  if (method !== "token") {
    answers.login = (await p.input({
      message: method === "sharedSecret" ? "Bot's full Matrix ID (e.g. @honoroit:example.com)" : "Bot's login (localpart, e.g. honoroit)",
      validate: validateWith("login"),
    })).trim();
  }
  answers[method] = await p.password({ message: method === "password" ? "Bot's password" : method === "token" ? "Access token" : "Shared secret", validate: validateWith(method) });
  answers.roomId = (await p.input({ message: "Operators room ID (e.g. !abc:example.com)", validate: validateWith("roomId") })).trim();
  const dialect = await p.select({
    message: "Database",
    choices: [
      { value: "sqlite", name: "SQLite (a file next to the config)" },
      { value: "postgres", name: "PostgreSQL" },
    ] as const,
    default: "sqlite",
  });
  answers["db.dialect"] = dialect;
  answers["db.dsn"] = (await p.input({
    message: dialect === "sqlite" ? "SQLite file" : "PostgreSQL URL (postgres://user:password@host/db)",
    ...(dialect === "sqlite" ? { default: "honoroit.db" } : {}),
    validate: (v) => (dialect === "postgres" && !/^postgres(ql)?:\/\//.test(v.trim()) ? "expected a postgres:// URL" : validateWith("db.dsn")(v)),
  })).trim();
  const port = await p.input({ message: "HTTP port for /_health and /metrics", default: "8080", validate: validateWith("port") });
  answers.port = Number(port.trim());
  return answers;
}

/** The real prompts, loaded only when `init` runs. */
async function terminalPrompter(): Promise<Prompter> {
  const inquirer = await import("@inquirer/prompts");
  return {
    input: (q) => inquirer.input({ message: q.message, ...(q.default === undefined ? {} : { default: q.default }), validate: q.validate }),
    password: (q) => inquirer.password({ message: q.message, mask: "*", validate: q.validate }),
    select: (q) => inquirer.select({ message: q.message, choices: q.choices.map((c) => ({ value: c.value, name: c.name })), ...(q.default === undefined ? {} : { default: q.default }) }),
    confirm: (q) => inquirer.confirm({ message: q.message, default: q.default }),
  };
}

/**
 * Writes the answers as a config file after checking it with the loader (so `serve` will
 * accept it); the file is private to its owner since it holds a secret.
 */
export async function writeConfigFile(file: string, answers: Answers): Promise<void> {
  const text = JSON.stringify(nestDotted(answers), null, 2) + "\n";
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode: 0o600 });
  const { loadConfig, assertValid } = await import("../../config/load.ts");
  try {
    assertValid(await loadConfig({ configFile: tmp, env: {}, cwd: path.dirname(file) }));
  } catch (error) {
    const { rm } = await import("node:fs/promises");
    await rm(tmp, { force: true });
    throw error;
  }
  await rename(tmp, file);
}

/** `init`, with its prompts and terminal check injectable for tests. */
export function makeInit(getPrompter: () => Promise<Prompter>, isInteractive: () => boolean): CliCommand {
  return {
    path: ["init"],
    summary: "Set up a configuration file, asking a few questions",
    options: [{ flags: "--force", description: "overwrite an existing configuration file" }],
    examples: ["npx honoroit init", "honoroit --config /etc/honoroit/honoroit.config.json init"],
    async run({ options }, ctx) {
      const file = path.resolve(ctx.globals.config ?? "honoroit.config.json");
      if (existsSync(file) && options["force"] !== true) {
        throw new HonoroitError("CONFLICT", `${file} exists already; use --force to overwrite it`);
      }
      if (!isInteractive()) {
        throw new HonoroitError(
          "BAD_ARGUMENT",
          "init asks questions and needs a terminal; without one, copy honoroit.config.example.json to honoroit.config.json and edit it, or set the HONOROIT_* variables",
        );
      }
      const prompter = await getPrompter();
      const answers = await askInitQuestions(prompter).catch((error: unknown) => {
        // Ctrl-C or Ctrl-D at a prompt: a person changing their mind, not a failure.
        if (error instanceof Error && error.name === "ExitPromptError") {
          throw new HonoroitError("BAD_ARGUMENT", "init cancelled; nothing was written");
        }
        throw error;
      });
      await writeConfigFile(file, answers);
      const lines = [`wrote ${file}`];
      if (await prompter.confirm({ message: "Create the database now?", default: true })) {
        const { loadConfig, assertValid } = await import("../../config/load.ts");
        const cfg = assertValid(await loadConfig({ configFile: file, env: {} }));
        const { openStore } = await import("../../adapters/storage/open-store.ts");
        const store = await openStore({ dialect: cfg.db.dialect, dsn: cfg.db.dsn });
        try {
          await store.migrate();
          lines.push(`database ready (${cfg.db.dialect === "sqlite" ? cfg.db.dsn : "PostgreSQL"})`);
        } finally {
          await store.close();
        }
      }
      lines.push(`start the bot with: npx honoroit${ctx.globals.config === undefined ? "" : ` --config ${ctx.globals.config}`} serve`);
      return { kind: "lines", lines, json: { file } };
    },
  };
}

export const init = makeInit(terminalPrompter, () => process.stdin.isTTY);
