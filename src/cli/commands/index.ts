import type { CliCommand } from "../command.ts";
import { count } from "./count.ts";
import { migrate } from "./migrate.ts";
import { notAvailable } from "./not-available.ts";
import { ticketsList } from "./tickets-list.ts";

/** Every CLI subcommand, declared once. */
export const COMMANDS: readonly CliCommand[] = [
  notAvailable({
    path: ["serve"],
    summary: "Run the helpdesk bot",
    examples: ["honoroit serve", "honoroit --config /etc/honoroit/honoroit.config.json serve"],
  }),
  notAvailable({
    path: ["init"],
    summary: "Set up a configuration file, asking a few questions",
    examples: ["npx honoroit init"],
  }),
  ticketsList,
  notAvailable({
    path: ["tickets", "close"],
    summary: "Close a customer request, as `!ho done` does",
    args: [{ name: "ticket", description: "ticket number, e.g. 42", required: true }],
    json: true,
    examples: ["honoroit tickets close 42"],
  }),
  count,
  migrate,
  notAvailable({
    path: ["redmine", "resync"],
    summary: "Re-read Redmine issues of open requests and relay what was missed",
    json: true,
    examples: ["honoroit redmine resync"],
  }),
  notAvailable({
    path: ["config", "get"],
    summary: "Show chat-configurable options (all, or one)",
    args: [{ name: "key", description: "option key, e.g. text.greetings", required: false }],
    json: true,
    examples: ["honoroit config get", "honoroit config get allow.users"],
  }),
  notAvailable({
    path: ["config", "set"],
    summary: "Change a chat-configurable option",
    args: [
      { name: "key", description: "option key", required: true },
      { name: "value", description: "new value", required: true, variadic: true },
    ],
    json: true,
    examples: ["honoroit config set silent true", "honoroit config set allow.users '@*:example.com'"],
  }),
];
