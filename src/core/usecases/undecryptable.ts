// An encrypted message the bot could not decrypt (its keys never came, or encryption is off).
// From a customer: they are asked once to send it again, and the request's thread is told of
// each such message, so operators know something is missing. From the operators room: the
// operators are told there, since an operator's reply or command would otherwise vanish.
import type { HelpdeskDeps } from "../deps.ts";
import type { UndecryptableEvent } from "../events.ts";
import { automaticMessage, operatorsNotice, threadNotice } from "./notices.ts";

export async function handleUndecryptable(deps: HelpdeskDeps, event: UndecryptableEvent): Promise<void> {
  const who = await deps.profiles.nameOf(event.sender);
  if (event.room === deps.operatorsRoom) {
    await operatorsNotice(deps, `A message from ${who} in this room could not be decrypted (its keys did not reach the bot), so it was not acted on. Please send it again.`, `undecryptable:${event.eventId}`);
    return;
  }
  // Once per room: with encryption off every message would otherwise bring the same warning.
  if (deps.encryptionWarning) await automaticMessage(deps, event.room, deps.options.get("text.greetings.before.encryption"), `encryption:${event.room}`);
  const ticket = await deps.store.tickets.findOpenByRoom(event.room);
  if (ticket !== undefined) {
    await threadNotice(deps, ticket, `A message from ${who} could not be decrypted (its keys did not reach the bot); it is missing from this thread.`, `undecryptable:${event.eventId}`);
  }
}
