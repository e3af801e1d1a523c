// Proves the Synapse harness: real users, a real room, a message seen by the
// other side. Needs test/synapse/start.sh (skipped without it, fails in CI).
import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { MatrixClient } from "matrix-js-sdk";
import {
  loginClient,
  loginUser,
  registerUser,
  skipUnlessSynapse,
  stopClient,
  uniqueName,
  waitFor,
  waitForEvent,
} from "../support/synapse.ts";
import type { SynapseEnv } from "../support/synapse.ts";

const clients: MatrixClient[] = [];
after(() => {
  for (const c of clients) stopClient(c);
});

test("alice invites bob and bob sees her message", async (t) => {
  const hs = skipUnlessSynapse(t);
  if (hs === undefined) return;

  const password = "correct horse battery staple";
  const aliceName = uniqueName("alice");
  const bobName = uniqueName("bob");
  const aliceReg = await registerUser(hs, aliceName, password);
  const bobReg = await registerUser(hs, bobName, password);
  assert.equal(aliceReg.userId, `@${aliceName}:localhost`);
  assert.equal(bobReg.userId, `@${bobName}:localhost`);
  assert.ok(aliceReg.accessToken.length > 0);

  const alice = await loginClient(hs, aliceName, password);
  clients.push(alice);
  const bob = await loginClient(hs, bobName, password);
  clients.push(bob);

  const { room_id: roomId } = await alice.createRoom({ name: "harness", invite: [bobReg.userId] });

  await waitFor(() => (bob.getRoom(roomId)?.getMyMembership() === "invite" ? true : undefined), {
    what: "bob's invite to arrive by sync",
  });
  await bob.joinRoom(roomId);
  await waitFor(
    () => (alice.getRoom(roomId)?.getMember(bobReg.userId)?.membership === "join" ? true : undefined),
    { what: "alice to see bob joined" },
  );

  const body = "hello from alice";
  const seen = waitForEvent(
    bob,
    roomId,
    (ev) => ev.getType() === "m.room.message" && ev.getContent().body === body,
  );
  const { event_id: sentId } = await alice.sendTextMessage(roomId, body);
  const ev = await seen;
  assert.equal(ev.getId(), sentId);
  assert.equal(ev.getSender(), aliceReg.userId);
  assert.equal(ev.getContent().body, body);
});

test("registering an admin user works", async (t) => {
  const hs = skipUnlessSynapse(t);
  if (hs === undefined) return;
  const name = uniqueName("admin");
  const reg = await registerUser(hs, name, "pw", { admin: true });
  const res = await fetch(`${hs.url}/_synapse/admin/v2/users/${encodeURIComponent(reg.userId)}`, {
    headers: { authorization: `Bearer ${reg.accessToken}` },
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { admin?: unknown };
  assert.equal(body.admin, true);
});

async function clientApi(
  hs: SynapseEnv,
  method: string,
  path: string,
  token: string,
  body: unknown,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${hs.url}/_matrix/client/v3${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  assert.equal(res.status, 200, `${method} ${path}: ${JSON.stringify(json)}`);
  return json;
}

// The exactly-once design relies on this: Synapse deduplicates PUT /send by
// (user, device, room, txnId), also across a new login on the same device id.
test("same device + same txnId after a new login returns the same event", async (t) => {
  const hs = skipUnlessSynapse(t);
  if (hs === undefined) return;
  const name = uniqueName("txn");
  await registerUser(hs, name, "pw");
  const deviceId = "HARNESSDEVICE";
  const first = await loginUser(hs, name, "pw", { deviceId });
  assert.equal(first.deviceId, deviceId);
  const { room_id: roomId } = await clientApi(hs, "POST", "/createRoom", first.accessToken, {});
  assert.equal(typeof roomId, "string");
  const sendPath = `/rooms/${encodeURIComponent(String(roomId))}/send/m.room.message/txn-1`;

  const sent = await clientApi(hs, "PUT", sendPath, first.accessToken, { msgtype: "m.text", body: "once" });
  const second = await loginUser(hs, name, "pw", { deviceId });
  const again = await clientApi(hs, "PUT", sendPath, second.accessToken, { msgtype: "m.text", body: "twice?" });
  assert.equal(again.event_id, sent.event_id);

  const other = await loginUser(hs, name, "pw");
  assert.notEqual(other.deviceId, deviceId);
  const fromOther = await clientApi(hs, "PUT", sendPath, other.accessToken, { msgtype: "m.text", body: "other" });
  assert.notEqual(fromOther.event_id, sent.event_id);
});

test("waitFor names what it was waiting for", async () => {
  await assert.rejects(
    waitFor(() => undefined, { what: "the impossible", timeoutMs: 50, intervalMs: 10 }),
    /waiting for the impossible/,
  );
  assert.equal(await waitFor(() => 42, { what: "a number" }), 42);
});
