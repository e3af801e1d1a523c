import { randomBytes } from "node:crypto";
import { existsSync, realpathSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { HonoroitError, messageOf } from "../../core/errors.ts";
import type { RoomId, UserId } from "../../core/ids.ts";
import type { Logger, LogLevel } from "../../core/ports.ts";
import type { DeviceKeys } from "../../adapters/crypto/device-keys.ts";
import type { MatrixSession } from "../../adapters/matrix/login.ts";
import { nestDotted } from "../../config/schema.ts";
import type { CommandRun } from "../command.ts";
import type { CliContext } from "../context.ts";
import { askRedmine } from "../init-redmine.ts";
import { secretFromFile, validateWith, Wizard, type Answers, type InitFlags, type Prompter } from "../init-wizard.ts";
import { systemdUnit } from "../systemd-unit.ts";
import { recoveryKeyLines } from "./crypto-recovery-key.ts";

type AuthMethod = "password" | "token" | "sharedSecret";

const AUTH_FILE_FLAGS: Readonly<Record<AuthMethod, "passwordFile" | "tokenFile" | "sharedSecretFile">> = {
  password: "passwordFile",
  token: "tokenFile",
  sharedSecret: "sharedSecretFile",
};

const AUTH_QUESTIONS: Readonly<Record<AuthMethod, string>> = {
  password: "Bot's password",
  token: "Access token",
  sharedSecret: "Shared secret",
};

interface Setup {
  readonly answers: Answers;
  readonly lines: string[];
  /** The key that restores the bot's encryption keys from the key backup, when init made it. */
  readonly recoveryKey: string | undefined;
}

/** The whole conversation: each answer checked before the next question. */
async function runWizard(w: Wizard, file: string, ctx: CliContext): Promise<Setup> {
  // No configuration exists yet to take a level from: warnings and errors only, unless asked.
  const { StreamLogger } = await import("../../adapters/log/stream-logger.ts");
  const logger = new StreamLogger((ctx.globals.logLevel ?? "warn") as LogLevel);
  const checks = await import("../../adapters/matrix/setup-checks.ts");
  const answers: Answers = {};
  const lines: string[] = [];
  let recoveryKey: string | undefined;
  const done = (line: string): void => {
    lines.push(`✓ ${line}`);
    w.note(`✓ ${line}`);
  };

  const hs = await w.until(async (first) => {
    const typed = await w.withFlags(first).answer("homeserver", (p) => p.input({ message: "Homeserver (a URL, or your Matrix domain)", validate: (v) => (v.trim() === "" ? "required" : true) }));
    return checks.findHomeserver(typed);
  });
  answers.homeserver = hs.url;
  done(`homeserver ${hs.url}${hs.viaWellKnown ? " (found through .well-known)" : ""} answers, Matrix ${hs.versions.at(-1) ?? "?"}`);

  // A data secret of our own: the saved access token is sealed with it.
  const dataSecret = randomBytes(24).toString("base64url");
  answers.dataSecret = dataSecret;
  const login = await w.until(async (first) => {
    const ww = w.withFlags(first);
    const fromFlags = first ? (Object.entries(AUTH_FILE_FLAGS) as [AuthMethod, keyof InitFlags][]).find(([, flag]) => w.flag(flag) !== undefined)?.[0] : undefined;
    let method: AuthMethod | undefined = fromFlags;
    if (method === undefined) {
      if (!w.attended) throw new HonoroitError("BAD_ARGUMENT", "--password-file, --token-file or --shared-secret-file is needed: unattended, the bot's credentials come from a file; nothing was written");
      method = await w.ask((p) =>
        p.select<AuthMethod>({
          message: "How does the bot log in?",
          choices: [
            { value: "password", name: "password (login is the bot's localpart, e.g. honoroit)" },
            { value: "token", name: "access token" },
            { value: "sharedSecret", name: "shared secret (com.devture.shared_secret_auth)" },
          ],
          default: "password",
        }),
      );
    }
    const user =
      method === "token"
        ? ""
        : (await ww.answer("login", (p) => p.input({ message: method === "sharedSecret" ? "Bot's full Matrix ID (e.g. @honoroit:example.com)" : "Bot's login (localpart, e.g. honoroit)", validate: validateWith("login") }))).trim();
    const fileFlag = AUTH_FILE_FLAGS[method];
    const secretFile = first ? w.flag(fileFlag) : undefined;
    const secret = secretFile !== undefined ? await secretFromFile(secretFile, AUTH_QUESTIONS[method].toLowerCase()) : await ww.answer(fileFlag, (p) => p.password({ message: AUTH_QUESTIONS[method], validate: validateWith(method) }));
    const checked = await checks.checkLogin({ homeserver: hs.url, login: user, [method]: secret, dataSecret, logger });
    return { method, user, secret, secretFile, checked };
  });
  if (login.user !== "") answers.login = login.user;
  if (login.secretFile !== undefined) answers[`${login.method}File`] = path.resolve(login.secretFile);
  else answers[login.method] = login.secret;
  const bot = login.checked.session.userId;
  done(`logged in as ${bot} (device ${login.checked.session.deviceId})`);

  const room = await w.until(async (first): Promise<RoomId> => {
    const ww = w.withFlags(first);
    const create =
      (first && w.flag("createRoom") === true) ||
      (w.flag("roomId") === undefined || !first
        ? await ww.answer(
            "createRoom",
            (p) =>
              p
                .select({ message: "Operators room", choices: [{ value: "create", name: "create a new private room" }, { value: "existing", name: "use a room the bot is in or invited to (ID or alias)" }], default: "create" })
                .then((v) => v === "create"),
            false,
          )
        : false);
    if (create) {
      const raw = await ww.answer("invite", (p) => p.input({ message: "Operators to invite (Matrix IDs, comma-separated)", validate: () => true }), "");
      const operators = raw.split(/[\s,]+/).filter((u) => u !== "");
      const bad = operators.find((u) => !/^@[^:]+:.+$/.test(u));
      if (bad !== undefined) throw new HonoroitError("BAD_ARGUMENT", `"${bad}" is not a Matrix ID (@name:example.com)`);
      const id = await checks.createOperatorsRoom(login.checked.session, operators as UserId[], logger);
      done(`created the operators room ${id}${operators.length > 0 ? `, invited ${operators.join(", ")}` : ""}`);
      return id;
    }
    const typed = await ww.answer("roomId", (p) => p.input({ message: "Operators room ID or alias (e.g. !abc:example.com or #support:example.com)", validate: (v) => (v.trim() === "" ? "required" : true) }));
    const id = await checks.joinOperatorsRoom(login.checked.session, typed, logger);
    done(`the bot is in the operators room ${id}`);
    return id;
  });
  answers.roomId = room;

  const storage = await w.until(async (first) => {
    const ww = w.withFlags(first);
    const answered = await ww.answer(
      "dbDialect",
      (p) => p.select({ message: "Database", choices: [{ value: "sqlite", name: "SQLite (a file next to the config)" }, { value: "postgres", name: "PostgreSQL" }], default: "sqlite" }),
      "sqlite",
    );
    if (answered !== "sqlite" && answered !== "postgres") throw new HonoroitError("BAD_ARGUMENT", `--db-dialect must be sqlite or postgres, not "${answered}"`);
    const dialect: "sqlite" | "postgres" = answered;
    const dsn = (await ww.answer(
      "dbDsn",
      (p) =>
        p.input({
          message: dialect === "sqlite" ? "SQLite file" : "PostgreSQL URL (postgres://user:password@host/db)",
          ...(dialect === "sqlite" ? { default: "honoroit.db" } : {}),
          validate: (v) => (dialect === "postgres" && !/^postgres(ql)?:\/\//.test(v.trim()) ? "expected a postgres:// URL" : validateWith("db.dsn")(v)),
        }),
      dialect === "sqlite" ? "honoroit.db" : undefined,
    )).trim();
    const where = dialect === "sqlite" ? path.resolve(path.dirname(file), dsn) : dsn;
    const { openStore } = await import("../../adapters/storage/open-store.ts");
    let store;
    try {
      store = await openStore({ dialect, dsn: where });
      await store.migrate();
      await checks.keepSession(login.checked.kv, store.kv);
    } catch (error) {
      if (error instanceof HonoroitError) throw error;
      throw new HonoroitError("UNREACHABLE", `the database cannot be used: ${messageOf(error)}`);
    } finally {
      await store?.close();
    }
    return { dialect, dsn, where };
  });
  answers["db.dialect"] = storage.dialect;
  answers["db.dsn"] = storage.dsn;
  done(`database ready (${storage.dialect === "sqlite" ? storage.where : "PostgreSQL"}), the bot's session kept in it`);

  await askRedmine(w, answers, done);

  const port = await w.until(async (first) => {
    const raw = await w.withFlags(first).answer("port", (p) => p.input({ message: "HTTP port for /_health and /metrics (on this machine only)", default: "8080", validate: validateWith("port") }), "8080");
    const ok = validateWith("port")(raw);
    if (ok !== true) throw new HonoroitError("BAD_ARGUMENT", `--port: ${ok}`);
    return Number(raw.trim());
  });
  answers.port = port;

  const metricsLogin = await w.answer("metricsLogin", async (p) => ((await p.confirm({ message: "Protect /metrics with a login and password?", default: false })) ? (await p.input({ message: "Metrics login", validate: validateWith("metrics.login") })).trim() : ""), "");
  if (metricsLogin !== "") {
    answers["metrics.login"] = metricsLogin;
    const file = w.flag("metricsPasswordFile");
    if (file !== undefined) answers["metrics.passwordFile"] = path.resolve(file);
    else answers["metrics.password"] = await w.answer("metricsPasswordFile", (p) => p.password({ message: "Metrics password", validate: validateWith("metrics.password") }));
  }
  // Last: nothing after it can be refused, so the keys it makes are those of the file written.
  if (w.flag("encryption") === false) answers.noEncryption = true;
  else {
    const keys = await setUpEncryption(storage, login.checked.session, dataSecret, logger);
    if (keys.replaced) done("dropped the encryption keys an earlier device left in the database (this login replaces its session)");
    if ("recoveryKey" in keys) {
      done("encryption keys made for the bot's device, cross-signed by its account, with a key backup on the homeserver");
      recoveryKey = keys.recoveryKey;
    } else {
      // Not a reason to stop: serve makes what is missing at its first start.
      const line = `! encryption not fully set up (serve tries again at each start): ${keys.problems.join("; ")}`;
      lines.push(line);
      w.note(line);
    }
  }
  return { answers, lines, recoveryKey };
}

/**
 * The bot's encryption keys, made in the database serve will use: the store is opened again
 * (the storage step closed it), and closed before the config is written.
 */
async function setUpEncryption(storage: { dialect: "sqlite" | "postgres"; where: string }, session: MatrixSession, dataSecret: string, logger: Logger): Promise<DeviceKeys> {
  const { openStore } = await import("../../adapters/storage/open-store.ts");
  const { setUpDeviceKeys } = await import("../../adapters/crypto/device-keys.ts");
  const store = await openStore({ dialect: storage.dialect, dsn: storage.where });
  try {
    return await setUpDeviceKeys(session, store, dataSecret, logger);
  } finally {
    await store.close();
  }
}

/** The real prompts, loaded only when `init` runs attended. */
async function terminalPrompter(): Promise<Prompter> {
  const inquirer = await import("@inquirer/prompts");
  return {
    input: (q) => inquirer.input({ message: q.message, ...(q.default === undefined ? {} : { default: q.default }), validate: q.validate }),
    password: (q) => inquirer.password({ message: q.message, mask: "*", validate: q.validate }),
    select: (q) => inquirer.select({ message: q.message, choices: q.choices.map((c) => ({ value: c.value, name: c.name })), ...(q.default === undefined ? {} : { default: q.default }) }),
    confirm: (q) => inquirer.confirm({ message: q.message, default: q.default }),
    note: (text) => process.stderr.write(`${text}\n`),
  };
}

/**
 * Writes the answers as a config file after checking it with the loader (so `serve` will
 * accept it): private to its owner (it holds secrets), written whole or not at all.
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
    await rm(tmp, { force: true });
    throw error;
  }
  await rename(tmp, file);
}

/** The command that runs this very binary, for the unit file and the last line. */
function binaryPath(): string {
  const script = process.argv[1];
  try {
    return script === undefined ? "honoroit" : realpathSync(script);
  } catch {
    return script ?? "honoroit";
  }
}

/** `init`, with its prompts and terminal check injectable for tests. */
export function makeInit(getPrompter: () => Promise<Prompter>, isInteractive: () => boolean): { readonly run: CommandRun } {
  return {
    async run({ options }, ctx) {
      const file = path.resolve(ctx.globals.config ?? "honoroit.config.json");
      if (existsSync(file) && options["force"] !== true) {
        throw new HonoroitError("CONFLICT", `${file} exists already; use --force to overwrite it`);
      }
      const unattended = options["yes"] === true;
      if (!unattended && !isInteractive()) {
        throw new HonoroitError(
          "BAD_ARGUMENT",
          "init asks questions and needs a terminal; without one, give the answers as flags with --yes (honoroit init --help), or copy honoroit.config.example.json and edit it",
        );
      }
      const prompter = unattended ? undefined : await getPrompter();
      const flags = options as InitFlags;
      const setup = await runWizard(new Wizard(prompter, flags), file, ctx).catch((error: unknown) => {
        // Ctrl-C or Ctrl-D at a prompt: a person changing their mind, not a failure.
        if (error instanceof Error && error.name === "ExitPromptError") throw new HonoroitError("BAD_ARGUMENT", "init cancelled; nothing was written");
        throw error;
      });
      await writeConfigFile(file, setup.answers);
      const bin = binaryPath();
      // bin/honoroit sits one folder below the package's README.
      const readme = path.join(path.dirname(path.dirname(bin)), "README.md");
      const unit = systemdUnit({ node: process.execPath, bin, config: file, dir: path.dirname(file), readme: path.isAbsolute(bin) && existsSync(readme) ? readme : undefined });
      // Attended, each check was shown as it passed, between the questions: not again here.
      const lines = [...(prompter === undefined ? setup.lines : []), `✓ wrote ${file} (mode 0600)`];
      const systemd = typeof options["systemd"] === "string" ? path.resolve(options["systemd"]) : undefined;
      if (systemd !== undefined) {
        await writeFile(systemd, unit, { mode: 0o644 });
        lines.push(`✓ wrote the systemd unit ${systemd}: systemctl daemon-reload && systemctl enable --now ${path.basename(systemd, ".service")}`);
      } else {
        lines.push("", "To run it under systemd, save this as /etc/systemd/system/honoroit.service (or rerun with --systemd FILE):", "", ...unit.trimEnd().split("\n"), "");
      }
      if (bin.includes(`${path.sep}_npx${path.sep}`)) lines.push("note: this copy runs from npx's cache; install it (npm install -g honoroit) so that the unit's path stays valid");
      // Shown once, here; `honoroit crypto recovery-key` shows it again.
      if (setup.recoveryKey !== undefined) lines.push("", "The recovery key of the bot's key backup:", ...recoveryKeyLines(setup.recoveryKey), "");
      lines.push(`next: honoroit --config ${file} serve`);
      if (setup.recoveryKey === undefined && setup.answers.noEncryption !== true) {
        lines.push(`then, once serve has started: honoroit --config ${file} crypto recovery-key, and keep the key it shows away from the database (it restores the bot's encryption keys if the database is lost)`);
      }
      return {
        kind: "lines",
        lines,
        json: { file, systemd: systemd ?? null, homeserver: setup.answers.homeserver, roomId: setup.answers.roomId, redmineProject: setup.answers["redmine.project"] ?? null, recoveryKey: setup.recoveryKey ?? null },
      };
    },
  };
}

/** `honoroit init`, as declared in the command table (index.ts). */
export const { run } = makeInit(terminalPrompter, () => process.stdin.isTTY);
