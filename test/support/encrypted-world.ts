// A world for end-to-end tests in encrypted rooms: the real binary's environment, a customer
// and an operator on matrix-js-sdk with Rust crypto, and an operators room.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestContext } from "node:test";
import { Preset } from "matrix-js-sdk";
import { cryptoPerson, MEGOLM } from "./crypto-client.ts";
import type { CryptoPerson } from "./crypto-client.ts";
import { databaseEnv } from "./postgres.ts";
import { freePort, ServeProcess } from "./serve-process.ts";
import { registerUser, skipUnlessSynapse, stopClient, uniqueName } from "./synapse.ts";
import type { SynapseEnv } from "./synapse.ts";

export const PASSWORD = "e2e password that is long enough";

export interface EncryptedWorld {
  readonly hs: SynapseEnv;
  readonly bot: string;
  readonly operator: CryptoPerson;
  readonly customer: CryptoPerson;
  readonly opsRoom: string;
  readonly env: Record<string, string>;
  /** Starts the real binary with the world's environment (or another, e.g. a new database). */
  start(env?: Record<string, string>): Promise<ServeProcess>;
}

export interface EncryptedWorldOptions {
  /** The operators room is encrypted (default) or plain. */
  readonly encryptedOperatorsRoom?: boolean;
}

/**
 * A bot account, an operator and a customer with encryption on, an operators room the bot is
 * invited to, and the environment to start the real binary with; all stopped after the test.
 */
export async function encryptedWorld(t: TestContext, database: "sqlite" | "postgres", options: EncryptedWorldOptions = {}): Promise<EncryptedWorld | undefined> {
  const hs = skipUnlessSynapse(t);
  if (hs === undefined) return undefined;
  const serves: ServeProcess[] = [];
  const people: CryptoPerson[] = [];
  t.after(async () => {
    for (const s of serves) await s.stop("SIGKILL");
    for (const p of people) stopClient(p.client);
  });
  const botName = uniqueName("honoroit");
  const bot = (await registerUser(hs, botName, PASSWORD)).userId;
  const operator = await cryptoPerson(hs, "operator", "Olga Operator", PASSWORD);
  const customer = await cryptoPerson(hs, "customer", "Alice Customer", PASSWORD);
  people.push(operator, customer);
  const { room_id: opsRoom } = await operator.client.createRoom({ name: "Support", preset: Preset.PrivateChat, invite: [bot], initial_state: options.encryptedOperatorsRoom === false ? [] : [MEGOLM] });
  const dir = await mkdtemp(path.join(tmpdir(), "honoroit-e2ee-"));
  const db = await databaseEnv(t, database, dir);
  if (db === undefined) return undefined;
  const env = {
    HONOROIT_HOMESERVER: hs.url,
    HONOROIT_LOGIN: botName,
    HONOROIT_PASSWORD: PASSWORD,
    HONOROIT_ROOMID: opsRoom,
    HONOROIT_DATA_SECRET: "an e2e data secret of 32 bytes!!",
    HONOROIT_PORT: String(await freePort()),
    HONOROIT_LOGLEVEL: "debug",
    ...db,
  };
  const start = async (other: Record<string, string> = env): Promise<ServeProcess> => {
    const serve = await ServeProcess.start(other);
    serves.push(serve);
    return serve;
  };
  return { hs, bot, operator, customer, opsRoom, env, start };
}
