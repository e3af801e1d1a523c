import type { HelpdeskDeps } from "../core/deps.ts";
import { HonoroitError } from "../core/errors.ts";
import type { MessageEvent } from "../core/events.ts";
import { parseUserId } from "../core/ids.ts";
import { fillTemplate } from "../core/options.ts";
import { showOptions } from "../core/runtime-options.ts";
import type { Ticket } from "../core/ticket.ts";
import { closeTicket } from "../core/usecases/close-ticket.ts";
import { countRequest } from "../core/usecases/count-request.ts";
import type { NoticeText } from "../core/usecases/notices.ts";
import { renameTicket } from "../core/usecases/rename-ticket.ts";
import { startTicket } from "../core/usecases/start-ticket.ts";
import { helpMessage } from "./help.ts";

/** What a chat command gets: its words after the name, the event, and the thread's ticket. */
export interface ChatInput {
  readonly args: string;
  readonly event: MessageEvent;
  /** The thread's ticket (a command's `scope` decides whether it is sure to have one, and an open one). */
  readonly ticket: Ticket | undefined;
  readonly deps: HelpdeskDeps;
}

/** The answer of a command that worked and has nothing more to say: a ✅ on the command. */
export const ACKNOWLEDGED: unique symbol = Symbol("acknowledged");

/**
 * How a command answers the operator: a notice in the thread (or room) the command came from,
 * a ✅ on their command (ACKNOWLEDGED), or nothing.
 */
export type ChatReply = NoticeText | typeof ACKNOWLEDGED | undefined;

/** Where a command may be sent: anywhere in the operators room, in a request's thread, or in an open request's thread. */
export type ChatScope = "room" | "thread" | "open thread";

export interface ChatCommand {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly usage: string;
  readonly summary: string;
  readonly scope: ChatScope;
  /** Runs that need the `power.level` in the operators room; without it, any member may run it. */
  readonly privileged?: {
    /** Which uses need it, for the help ("setting one"); absent: every use. */
    readonly uses?: string;
    /** What running it with these arguments would do, for the refusal ("change an option"); undefined: it needs no power. */
    readonly action: (args: string) => string | undefined;
  };
  run(input: ChatInput): Promise<ChatReply>;
}

function requireTicket(input: ChatInput): Ticket {
  if (input.ticket === undefined) throw new HonoroitError("BAD_ARGUMENT", "this command works inside a request's thread");
  return input.ticket;
}

/** Every chat command, declared once; the help text is generated from this table. */
export const CHAT_COMMANDS: readonly ChatCommand[] = [
  {
    name: "done",
    aliases: ["complete", "close"],
    usage: "done",
    summary: "close this request: the customer is told, the thread is marked done, the bot leaves their room",
    scope: "open thread",
    async run(input) {
      const { ticket, problems } = await closeTicket(input.deps, requireTicket(input).id, "operator");
      return [`Request #${ticket.id} is closed.`, ...problems.map((p) => `Note: ${p}.`)].join("\n");
    },
  },
  {
    name: "rename",
    aliases: [],
    usage: "rename TEXT",
    summary: "change this thread's title to TEXT, keeping its open or done prefix ([OPEN] TEXT)",
    scope: "thread",
    async run(input) {
      await renameTicket(input.deps, requireTicket(input).id, input.args, `rename:${input.event.eventId}`);
      return ACKNOWLEDGED;
    },
  },
  {
    name: "note",
    aliases: [],
    usage: "note TEXT",
    summary: "an internal note: nothing is sent to the customer",
    scope: "room",
    run() {
      return Promise.resolve(ACKNOWLEDGED);
    },
  },
  {
    name: "invite",
    aliases: [],
    usage: "invite",
    summary: "invite yourself into the customer's room",
    scope: "open thread",
    async run(input) {
      const ticket = requireTicket(input);
      await input.deps.messenger.invite(ticket.customerRoom, input.event.sender);
      return `Invited ${input.event.sender} to the customer's room.`;
    },
  },
  {
    name: "start",
    aliases: [],
    usage: "start MXID",
    summary: "start a request with MXID: the bot opens a direct chat with them and a thread here",
    scope: "room",
    privileged: { action: () => "start a request with someone" },
    async run(input) {
      const user = parseUserId(argumentOrUsage(input.args, "start @user:example.com"));
      const ticket = await startTicket(input.deps, user, `start:${input.event.eventId}`);
      return `Started request #${ticket.id} with ${user}: ${ticket.title ?? ""}`;
    },
  },
  {
    name: "count",
    aliases: [],
    usage: "count MXID",
    summary: "count a request for MXID and their homeserver without contacting them",
    scope: "room",
    async run(input) {
      const user = parseUserId(argumentOrUsage(input.args, "count @user:example.com"));
      const counted = await countRequest(input.deps, user, `count:${input.event.eventId}`);
      return fillTemplate(input.deps.options.get("text.count"), counted.summary);
    },
  },
  {
    name: "config",
    aliases: [],
    usage: "config [KEY [VALUE]]",
    summary: "list the options, show one, or set one",
    scope: "room",
    privileged: { uses: "setting one", action: (args) => (args.trim().split(/\s+/).length >= 2 ? "change an option" : undefined) },
    async run(input) {
      const [key, ...rest] = input.args.split(/\s+/).filter((w) => w !== "");
      if (key === undefined || rest.length === 0) return showOptions(input.deps.options, key).join("\n");
      const value = input.args.trim().slice(key.length).trim();
      await input.deps.options.set(key, value);
      return ACKNOWLEDGED;
    },
  },
  {
    name: "help",
    aliases: [],
    usage: "help",
    summary: "this list of commands",
    scope: "room",
    run(input) {
      return Promise.resolve(helpMessage(CHAT_COMMANDS, input.deps.prefix, input.deps.options.get("power.level")));
    },
  },
];

function argumentOrUsage(args: string, usage: string): string {
  const first = args.trim().split(/\s+/)[0] ?? "";
  if (first === "") throw new HonoroitError("BAD_ARGUMENT", `usage: ${usage}`);
  return first;
}

/** Finds a command by name or alias, case-insensitively. */
export function findCommand(name: string): ChatCommand | undefined {
  const n = name.toLowerCase();
  return CHAT_COMMANDS.find((c) => c.name === n || c.aliases.includes(n));
}
