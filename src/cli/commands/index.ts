import type { CliCommand, CommandRun } from "../command.ts";

// Every CLI subcommand, declared once: help, options and examples are generated from this
// table. Each command's work is in its own file, loaded only when that command runs, so
// `honoroit --help` loads none of them (each module loaded costs start-up time).

/** A command's `run`, loaded from its file when the command runs. */
function handler(load: () => Promise<{ readonly run: CommandRun }>): CommandRun {
  return async (input, ctx) => (await load()).run(input, ctx);
}

export const COMMANDS: readonly CliCommand[] = [
  {
    path: ["serve"],
    summary: "Run the helpdesk bot (until SIGTERM or Ctrl-C)",
    examples: [
      "honoroit serve",
      "honoroit --config /etc/honoroit/honoroit.config.json serve",
      "HONOROIT_HOMESERVER=https://matrix.example.com HONOROIT_LOGIN=honoroit HONOROIT_PASSWORD=… HONOROIT_ROOMID='!ops:example.com' honoroit serve",
      "honoroit serve --standby   # a second machine on the same PostgreSQL: takes over when the active one stops",
    ],
    options: [
      {
        flags: "--standby",
        description: "if another serve is active on this database, wait and take over when it stops (instead of refusing to start)",
      },
    ],
    run: handler(() => import("./serve.ts")),
  },
  {
    path: ["init"],
    summary: "Set up: each answer is checked against the homeserver and the database, then the config file is written",
    options: [
      { flags: "--yes", description: "unattended: take the default for every question without a flag (no terminal needed)" },
      { flags: "--homeserver <url>", description: "homeserver URL, or a domain whose .well-known names it" },
      { flags: "--login <name>", description: "the bot's login: a localpart with a password, a full Matrix ID with a shared secret" },
      { flags: "--password-file <file>", description: "the bot's password, read from this file (the config then names the file)" },
      { flags: "--token-file <file>", description: "an access token of the bot, read from this file" },
      { flags: "--shared-secret-file <file>", description: "the shared secret (com.devture.shared_secret_auth), read from this file" },
      { flags: "--room-id <room>", description: "the operators room: an ID or alias; the bot joins it (it must be invited)" },
      { flags: "--create-room", description: "create a new private operators room instead" },
      { flags: "--invite <users>", description: "with --create-room: operators to invite, comma-separated Matrix IDs" },
      { flags: "--db-dialect <dialect>", description: "sqlite (default) or postgres" },
      { flags: "--db-dsn <dsn>", description: "SQLite file (default honoroit.db next to the config) or postgres:// URL" },
      { flags: "--port <port>", description: "HTTP port for /_health and /metrics (default 8080)" },
      { flags: "--metrics-login <login>", description: "protect /metrics with this login" },
      { flags: "--metrics-password-file <file>", description: "and the password in this file" },
      { flags: "--redmine-host <url>", description: "sync requests with the Redmine at this URL (checked with the API key)" },
      { flags: "--redmine-api-key-file <file>", description: "the Redmine API key, read from this file (the config then names the file)" },
      { flags: "--redmine-project <project>", description: "the Redmine project: its identifier, name or id" },
      { flags: "--redmine-tracker <tracker>", description: "tracker of the new issues, by name or id (default: the project's first)" },
      { flags: "--redmine-new-status <status>", description: "status while a request waits for an operator, by name or id (default: the tracker's default status)" },
      { flags: "--redmine-in-progress-status <status>", description: "status while it waits for the customer (default: In Progress, or the next open status)" },
      { flags: "--redmine-done-status <status>", description: "status of a closed request (default: Closed, or the first closed status)" },
      { flags: "--no-encryption", description: "turn end-to-end encryption off (noEncryption); by default init makes the bot's encryption keys and shows the recovery key" },
      { flags: "--systemd <file>", description: "also write a systemd unit to this file" },
      { flags: "--force", description: "overwrite an existing configuration file" },
    ],
    examples: [
      "npx honoroit init",
      "honoroit --config /etc/honoroit/honoroit.config.json init --systemd /etc/systemd/system/honoroit.service",
      "honoroit --config honoroit.config.json init --yes --homeserver https://matrix.example.com --login honoroit --password-file pw.txt --room-id '#support:example.com'",
      "honoroit init --yes … --redmine-host https://redmine.example.com --redmine-api-key-file redmine-key.txt --redmine-project helpdesk --redmine-tracker Support",
    ],
    json: true,
    run: handler(() => import("./init.ts")),
  },
  {
    path: ["tickets", "list"],
    summary: "List customer requests, newest first",
    options: [
      { flags: "--status <status>", description: "open, closed or all", defaultValue: "open", choices: ["open", "closed", "all"] },
      { flags: "--customer <mxid>", description: "only this customer's requests" },
      { flags: "--since <duration>", description: "only requests opened in this period, e.g. 7d, 12h" },
      { flags: "--limit <n>", description: "at most this many (0: no limit)", defaultValue: "100" },
    ],
    json: true,
    examples: [
      "honoroit tickets list",
      "honoroit tickets list --status all --since 7d",
      "honoroit tickets list --customer @alice:example.com --json",
    ],
    run: handler(() => import("./tickets-list.ts")),
  },
  {
    path: ["tickets", "show"],
    summary: "Show a request and its transcript: both sides in order, with authors and times",
    args: [{ name: "ticket", description: "ticket number, e.g. 42", required: true }],
    json: true,
    examples: ["honoroit tickets show 42", "honoroit tickets show 42 --json"],
    run: handler(() => import("./tickets-show.ts")),
  },
  {
    path: ["tickets", "close"],
    summary: "Close customer requests as `!ho done` does; a running serve does it for the command line",
    args: [{ name: "tickets", description: "ticket numbers, e.g. 42 43; - reads them (or the JSON of tickets list --json) from stdin", required: true, variadic: true }],
    options: [
      { flags: "--silent", description: "close without telling the customer" },
      { flags: "--message <text>", description: "tell the customer this instead of the text.done option" },
    ],
    json: true,
    examples: [
      "honoroit tickets close 42",
      "honoroit tickets close 42 43 --message 'Closed after our call, thank you!'",
      "honoroit tickets list --status open --since 30d --json | honoroit tickets close - --silent",
    ],
    run: handler(() => import("./tickets-close.ts")),
  },
  {
    path: ["count"],
    summary: "Count a request for a user and their homeserver without contacting them",
    args: [{ name: "mxid", description: "the user, e.g. @alice:example.com", required: true }],
    json: true,
    examples: ["honoroit count @alice:example.com"],
    run: handler(() => import("./count.ts")),
  },
  {
    path: ["migrate"],
    summary: "Create or upgrade the database schema (serve does this on start); --from-go imports the Go bot's state",
    options: [
      { flags: "--status", description: "show applied and pending migrations; change nothing" },
      { flags: "--from-go", description: "import the Go bot's state (its account data and the operators room's threads), logged in as the bot with the same settings; stop the Go bot first" },
      { flags: "--dry-run", description: "with --from-go: read everything and show what would be imported; write nothing" },
      { flags: "--skip-unreadable", description: "with --from-go: import what can be read when some entries do not open with the data secret" },
    ],
    json: true,
    examples: [
      "honoroit migrate",
      "honoroit migrate --status",
      "HONOROIT_DB_DIALECT=postgres HONOROIT_DB_DSN=postgres://… honoroit migrate",
      "honoroit migrate --from-go --dry-run   # with the Go bot's environment (HONOROIT_DATA_SECRET too)",
      "honoroit migrate --from-go",
    ],
    run: handler(() => import("./migrate.ts")),
  },
  {
    path: ["redmine", "resync"],
    summary: "Bring open requests and their Redmine issues in step: create missing issues, relay notes not relayed yet, reconcile closed ones (through serve's outbox)",
    options: [
      { flags: "--ticket <id>", description: "only this request (open or closed)" },
      { flags: "--dry-run", description: "show what is out of step; change nothing" },
    ],
    json: true,
    examples: ["honoroit redmine resync --dry-run", "honoroit redmine resync", "honoroit redmine resync --ticket 42 --json"],
    run: handler(() => import("./redmine-resync.ts")),
  },
  {
    path: ["crypto", "recovery-key"],
    summary: "Show the recovery key of the bot's key backup (to restore its encryption keys after losing the database)",
    json: true,
    examples: ["honoroit crypto recovery-key", "HONOROIT_RECOVERY_KEY='EsTc …' honoroit serve   # a new database: restore from the backup"],
    run: handler(() => import("./crypto-recovery-key.ts")),
  },
  {
    path: ["config", "get"],
    summary: "Show chat-configurable options (all, or one with its description)",
    args: [{ name: "key", description: "option key, e.g. text.greetings", required: false }],
    json: true,
    examples: ["honoroit config get", "honoroit config get allow.users", "honoroit config get --json"],
    run: handler(() => import("./config-get.ts")),
  },
  {
    path: ["config", "set"],
    summary: "Change a chat-configurable option (checked as `!ho config KEY VALUE` checks it)",
    args: [
      { name: "key", description: "option key, e.g. text.greetings", required: true },
      { name: "value", description: "new value; several words are joined with spaces", required: true, variadic: true },
    ],
    json: true,
    examples: [
      "honoroit config set silent true",
      "honoroit config set allow.users '@*:example.com,@partner:example.org'",
      "honoroit config set text.greetings Thank you for writing to us, we will be with you shortly.",
      "honoroit config set autoclose.after 3d",
    ],
    run: handler(() => import("./config-set.ts")),
  },
];
