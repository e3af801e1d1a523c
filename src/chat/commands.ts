import type { HelpdeskDeps } from "../core/deps.ts";
import { HonoroitError } from "../core/errors.ts";
import type { MessageEvent } from "../core/events.ts";
import { parseUserId } from "../core/ids.ts";
import { fillTemplate } from "../core/options.ts";
import { showOptions } from "../core/runtime-options.ts";
import type { Ticket } from "../core/ticket.ts";
import { closeTicket } from "../core/usecases/close-ticket.ts";
import { countRequest } from "../core/usecases/count-request.ts";
import { renameTicket } from "../core/usecases/rename-ticket.ts";
import { startTicket } from "../core/usecases/start-ticket.ts";

/** What a chat command gets: its words after the name, the event, and the thread's ticket. */
export interface ChatInput {
  readonly args: string;
  readonly event: MessageEvent;
  /** The thread's ticket (commands with `needsTicket` always get an open one). */
  readonly ticket: Ticket | undefined;
  readonly deps: HelpdeskDeps;
}

/** A reply to the operator, in the thread (or room) the command came from; none = silence. */
export type ChatReply = string | undefined;

export interface ChatCommand {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly usage: string;
  readonly summary: string;
  /** Must be sent in the thread of an open request. */
  readonly needsTicket: boolean;
  /**
   * When running it with these arguments needs the `power.level` in the operators room: what
   * it would do, for the refusal ("change an option"). Without it, any member may run it.
   */
  readonly privileged?: (args: string) => string | undefined;
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
    needsTicket: true,
    async run(input) {
      const { ticket, problems } = await closeTicket(input.deps, requireTicket(input).id, "operator");
      return [`Request #${ticket.id} is closed.`, ...problems.map((p) => `Note: ${p}.`)].join("\n");
    },
  },
  {
    name: "rename",
    aliases: [],
    usage: "rename TEXT",
    summary: "change this thread's title to TEXT",
    needsTicket: true,
    async run(input) {
      await renameTicket(input.deps, requireTicket(input), input.args, `rename:${input.event.eventId}`);
      return undefined;
    },
  },
  {
    name: "note",
    aliases: [],
    usage: "note TEXT",
    summary: "an internal note: nothing is sent to the customer",
    needsTicket: false,
    run() {
      return Promise.resolve(undefined);
    },
  },
  {
    name: "invite",
    aliases: [],
    usage: "invite",
    summary: "invite yourself into the customer's room",
    needsTicket: true,
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
    needsTicket: false,
    privileged: () => "start a request with someone",
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
    needsTicket: false,
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
    needsTicket: false,
    privileged: (args) => (args.trim().split(/\s+/).length >= 2 ? "change an option" : undefined),
    async run(input) {
      const [key, ...rest] = input.args.split(/\s+/).filter((w) => w !== "");
      if (key === undefined || rest.length === 0) return showOptions(input.deps.options, key).join("\n");
      const value = input.args.trim().slice(key.length).trim();
      const stored = await input.deps.options.set(key, value);
      return `${stored.key} = ${stored.stored}`;
    },
  },
];

function argumentOrUsage(args: string, usage: string): string {
  const first = args.trim().split(/\s+/)[0] ?? "";
  if (first === "") throw new HonoroitError("BAD_ARGUMENT", `usage: ${usage}`);
  return first;
}

/** The help text, generated from the table. */
export function helpText(prefix: string): string {
  const lines = CHAT_COMMANDS.map((c) => {
    const aliases = c.aliases.length > 0 ? ` (also: ${c.aliases.join(", ")})` : "";
    const power = c.privileged === undefined ? "" : ` (${c.name === "config" ? "setting one needs" : "needs"} the power level in option power.level)`;
    return `- \`${prefix} ${c.usage}\`${aliases}: ${c.summary}${power}`;
  });
  return ["Commands (send them in a request's thread):", ...lines].join("\n");
}

/** Finds a command by name or alias, case-insensitively. */
export function findCommand(name: string): ChatCommand | undefined {
  const n = name.toLowerCase();
  return CHAT_COMMANDS.find((c) => c.name === n || c.aliases.includes(n));
}
