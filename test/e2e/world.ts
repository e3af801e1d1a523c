// A small world for end-to-end tests: a bot account, an operator and a customer on the real
// Synapse, an operators room, and the environment to run `honoroit serve` as that bot.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestContext } from "node:test";
import { Preset } from "matrix-js-sdk";
import type { MatrixClient } from "matrix-js-sdk";
import { databaseEnv } from "../support/postgres.ts";
import { freePort, type ServeProcess } from "../support/serve-process.ts";
import { exemptFromRateLimit, loginClient, registerUser, skipUnlessSynapse, stopClient, uniqueName, waitFor, type SynapseEnv } from "../support/synapse.ts";

export interface Person {
  readonly userId: string;
  readonly client: MatrixClient;
}

export interface World {
  readonly hs: SynapseEnv;
  readonly bot: string;
  readonly operator: Person;
  readonly customer: Person;
  readonly opsRoom: string;
  readonly env: Record<string, string>;
  readonly port: number;
  readonly dir: string;
  /** Registers another person with a display name. */
  person(name: string, displayname: string): Promise<Person>;
  /** The customer opens a direct chat with the bot and waits for the bot to join it. */
  openDm(who?: Person): Promise<string>;
  /** Processes to stop and clients to close at the end of the test. */
  track(serve: ServeProcess): ServeProcess;
}

const PASSWORD = "e2e password that is long enough";

export interface WorldOptions {
  /** The homeserver to build the world on; default the one from the environment (skipUnlessSynapse). */
  readonly hs?: SynapseEnv;
  /**
   * Exempt every person (the operator, the customer, those from `person`) from the homeserver's
   * message rate limit, through an admin account; the bot stays limited.
   */
  readonly exemptPeopleFromRateLimit?: boolean;
  /** Invite the bot to the operators room when it is created (default true). */
  readonly inviteBot?: boolean;
  /** Where serve keeps its state: a SQLite file (default) or a fresh PostgreSQL database. */
  readonly database?: "sqlite" | "postgres";
}

/** Builds the world, or returns undefined after marking the test skipped (failing under CI). */
export async function makeWorld(t: TestContext, opts: WorldOptions = {}): Promise<World | undefined> {
  const hs = opts.hs ?? skipUnlessSynapse(t);
  if (hs === undefined) return undefined;
  const admin = opts.exemptPeopleFromRateLimit === true ? await registerUser(hs, uniqueName("admin"), PASSWORD, { admin: true }) : undefined;
  const clients: MatrixClient[] = [];
  const serves: ServeProcess[] = [];
  t.after(async () => {
    for (const s of serves) await s.stop("SIGKILL");
    for (const c of clients) stopClient(c);
  });

  const person = async (name: string, displayname: string): Promise<Person> => {
    const localpart = uniqueName(name);
    const reg = await registerUser(hs, localpart, PASSWORD);
    if (admin !== undefined) await exemptFromRateLimit(hs, admin.accessToken, reg.userId);
    const client = await loginClient(hs, localpart, PASSWORD);
    clients.push(client);
    await client.setDisplayName(displayname);
    return { userId: reg.userId, client };
  };

  const botName = uniqueName("honoroit");
  const botReg = await registerUser(hs, botName, PASSWORD);
  const operator = await person("operator", "Olga Operator");
  const customer = await person("customer", "Alice Customer");
  const { room_id: opsRoom } = await operator.client.createRoom({ name: "Support", preset: Preset.PrivateChat, invite: opts.inviteBot === false ? [] : [botReg.userId] });
  const dir = await mkdtemp(path.join(tmpdir(), "honoroit-e2e-"));
  const port = await freePort();
  const db = await databaseEnv(t, opts.database ?? "sqlite", dir);
  if (db === undefined) return undefined;
  const env = {
    HONOROIT_HOMESERVER: hs.url,
    HONOROIT_LOGIN: botName,
    HONOROIT_PASSWORD: PASSWORD,
    HONOROIT_ROOMID: opsRoom,
    ...db,
    HONOROIT_PORT: String(port),
    HONOROIT_LOGLEVEL: "debug",
  };

  const openDm = async (who: Person = customer): Promise<string> => {
    const { room_id: dm } = await who.client.createRoom({ is_direct: true, preset: Preset.TrustedPrivateChat, invite: [botReg.userId] });
    await waitFor(() => (who.client.getRoom(dm)?.getMember(botReg.userId)?.membership === "join" ? true : undefined), {
      what: "the bot to join the customer's direct chat",
      timeoutMs: 20_000,
    });
    return dm;
  };

  return {
    hs,
    bot: botReg.userId,
    operator,
    customer,
    opsRoom,
    env,
    port,
    dir,
    person,
    openDm,
    track(serve) {
      serves.push(serve);
      return serve;
    },
  };
}

export { PASSWORD };
