import type { SavedKeysReader } from "../../adapters/crypto/saved-keys-reader.ts";
import { HonoroitError, messageOf } from "../../core/errors.ts";
import type { Logger, Store } from "../../core/ports.ts";
import { parseTicketId } from "../../core/ids.ts";
import type { TranscriptLine } from "../../core/usecases/transcript.ts";
import type { CommandInput } from "../command.ts";
import type { CliContext } from "../context.ts";
import type { Output } from "../output.ts";
import { ticketJson } from "./tickets-list.ts";

function when(d: Date): string {
  return d.toISOString().slice(0, 19).replace("T", " ");
}

const ROLE_LABEL: Readonly<Record<TranscriptLine["role"], string>> = {
  customer: "customer",
  operator: "operator",
  bot: "bot",
};

/** `honoroit tickets show`, as declared in the command table (index.ts). */
export async function run({ args }: CommandInput, ctx: CliContext): Promise<Output> {
  const raw = (args[0] ?? "").trim().replace(/^#/, "");
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new HonoroitError("BAD_ARGUMENT", `not a ticket number: ${JSON.stringify(args[0] ?? "")}`);
  const id = parseTicketId(Number(raw));
  const store = await ctx.store({ mustExist: true });
  const ticket = await store.tickets.get(id);
  if (ticket === undefined) throw new HonoroitError("NOT_FOUND", `there is no request #${id}`);
  const config = await ctx.config();
  const logger = await ctx.logger();
  const { requireMatrixLogin } = await import("../../config/load.ts");
  const matrix = requireMatrixLogin(config);
  let lines: TranscriptLine[] = [];
  if (ticket.threadRoot !== null) {
    // Reading only: the saved session is reused (no new login, nothing sent), so this is
    // safe beside a running serve.
    const { connectMatrix } = await import("../../adapters/matrix/connection.ts");
    const { loginCredentials } = await import("../../serve/helpdesk-deps.ts");
    const { readThread } = await import("../../adapters/matrix/thread-history.ts");
    const { transcriptOf } = await import("../../core/usecases/transcript.ts");
    const connection = await connectMatrix({ ...loginCredentials(matrix, config), kv: store.kv, syncState: store.sync, logger, retry: false });
    // Encrypted messages are read with serve's saved room keys, in memory only.
    const keys = config.noEncryption ? undefined : await savedKeys(store, config.dataSecret ?? undefined, connection, logger);
    try {
      const messages = await readThread(connection.api, matrix.roomId, ticket.threadRoot, keys === undefined ? undefined : (room, raw) => keys.decrypt(room, raw));
      lines = await transcriptOf(ticket, messages, store.relays, connection.userId);
    } finally {
      keys?.close();
      await connection.close();
    }
  }
  const header = [
    `#${ticket.id} ${ticket.status}: ${ticket.title ?? "(no title yet)"}`,
    `customer ${ticket.customer}, room ${ticket.customerRoom || "(not known)"}`,
    `opened ${when(ticket.openedAt)}${ticket.closedAt === null ? "" : `, closed ${when(ticket.closedAt)} (${ticket.closeReason ?? "?"})`}, last activity ${when(ticket.lastActivityAt)}`,
    "",
  ];
  const body = lines.length === 0
    ? ["(no messages in its thread)"]
    : lines.map((l) => `${when(l.at)}  ${l.author} (${ROLE_LABEL[l.role]}${l.internal ? ", internal" : ""}): ${l.text.replace(/\n/g, "\n    ")}`);
  return {
    kind: "lines",
    lines: [...header, ...body],
    json: { ...ticketJson(ticket), transcript: lines.map((l) => ({ at: l.at.toISOString(), role: l.role, author: l.author, text: l.text, internal: l.internal, event: l.event })) },
  };
}

/** serve's room keys, or undefined (with a warning) when they cannot be opened here. */
async function savedKeys(store: Store, secret: string | undefined, connection: { userId: string; deviceId: string }, logger: Logger): Promise<SavedKeysReader | undefined> {
  const { SavedKeysReader } = await import("../../adapters/crypto/saved-keys-reader.ts");
  try {
    return await SavedKeysReader.open({ store: store.crypto, secret, userId: connection.userId, deviceId: connection.deviceId, logger });
  } catch (error) {
    logger.warn("encrypted messages are shown as such: the bot's saved keys cannot be opened", { error: messageOf(error) });
    return undefined;
  }
}
