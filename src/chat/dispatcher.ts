import { causeOf, waitingError, type HelpdeskDeps } from "../core/deps.ts";
import { isHonoroitError, newReference, RefusedError } from "../core/errors.ts";
import type { MessageEvent } from "../core/events.ts";
import type { CommandRunner } from "../core/helpdesk.ts";
import type { Ticket } from "../core/ticket.ts";
import { acknowledgeCommand, operatorsNotice, type NoticeText } from "../core/usecases/notices.ts";
import { ACKNOWLEDGED, CHAT_COMMANDS, findCommand } from "./commands.ts";
import { unknownCommandMessage } from "./help.ts";

/** Splits `!ho rename New title` into `rename` and `New title`; undefined when not a command. */
export function parseCommand(text: string, prefix: string): { name: string; args: string } | undefined {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith(prefix)) return undefined;
  const rest = trimmed.slice(prefix.length);
  if (rest !== "" && !/^\s/.test(rest)) return undefined;
  const body = rest.trim();
  const space = body.search(/\s/);
  return space === -1 ? { name: body, args: "" } : { name: body.slice(0, space), args: body.slice(space + 1).trim() };
}

/** The chat front end: parses `!ho …` in the operators room and runs the command; its one error boundary. */
export class ChatDispatcher implements CommandRunner {
  constructor(private readonly deps: HelpdeskDeps) {}

  isCommand(text: string): boolean {
    return parseCommand(text, this.deps.prefix) !== undefined;
  }

  async run(event: MessageEvent, ticket: Ticket | undefined): Promise<void> {
    const parsed = parseCommand(event.content.body, this.deps.prefix);
    if (parsed === undefined) return;
    const reply = (text: NoticeText): Promise<unknown> => operatorsNotice(this.deps, text, `reply:${event.eventId}`, event.threadRoot);
    const { prefix, options } = this.deps;
    // The prefix alone asks for the help.
    const command = findCommand(parsed.name === "" ? "help" : parsed.name);
    if (command === undefined) {
      await reply(unknownCommandMessage(parsed.name, CHAT_COMMANDS, prefix, options.get("power.level")));
      return;
    }
    try {
      if (command.scope !== "room" && ticket === undefined) {
        await reply(`\`${prefix} ${command.name}\` works inside a request's thread.`);
        return;
      }
      if (command.scope === "open thread" && ticket?.status === "closed") {
        await reply(`Request #${ticket.id} is already closed.`);
        return;
      }
      const what = command.privileged?.action(parsed.args);
      if (what !== undefined) {
        const needed = options.get("power.level");
        const has = needed === 0 ? 0 : await this.deps.messenger.powerLevel(this.deps.operatorsRoom, event.sender);
        if (has < needed) {
          await reply(`To ${what} you need power level ${needed} in this room; yours is ${has}. (Option power.level sets the level.)`);
          return;
        }
      }
      const answer = await command.run({ args: parsed.args, event, ticket, deps: this.deps });
      if (answer === ACKNOWLEDGED) await acknowledgeCommand(this.deps, event.eventId);
      else if (answer !== undefined) await reply(answer);
    } catch (error) {
      // A service that is down, or the bot out of the operators room: the command runs again later.
      if (causeOf(this.deps, error) !== "final") throw waitingError(this.deps, error);
      if (error instanceof RefusedError) {
        await reply(`The homeserver refused: ${error.message}`);
        return;
      }
      if (isHonoroitError(error)) {
        await reply(`${error.message}${error.details.length > 0 ? "\n" + error.details.join("\n") : ""}`);
        return;
      }
      const ref = newReference();
      this.deps.logger.error("chat command failed", { ref, command: command.name, event: event.eventId, error });
      await reply(`Something went wrong running \`${this.deps.prefix} ${command.name}\` (reference ${ref}); the details are in the bot's log.`);
    }
  }
}
