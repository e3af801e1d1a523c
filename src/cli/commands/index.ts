import type { CliCommand } from "../command.ts";
import { configGet } from "./config-get.ts";
import { configSet } from "./config-set.ts";
import { count } from "./count.ts";
import { init } from "./init.ts";
import { migrate } from "./migrate.ts";
import { notAvailable } from "./not-available.ts";
import { serve } from "./serve.ts";
import { ticketsClose } from "./tickets-close.ts";
import { ticketsList } from "./tickets-list.ts";
import { ticketsShow } from "./tickets-show.ts";

/** Every CLI subcommand, declared once. */
export const COMMANDS: readonly CliCommand[] = [
  serve,
  init,
  ticketsList,
  ticketsShow,
  ticketsClose,
  count,
  migrate,
  notAvailable({
    path: ["redmine", "resync"],
    summary: "Re-read Redmine issues of open requests and relay what was missed",
    json: true,
    examples: ["honoroit redmine resync"],
  }),
  configGet,
  configSet,
];
