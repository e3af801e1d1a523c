import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GoSealedText } from "../../src/adapters/go-honoroit/sealed-text.ts";
import { goSeal } from "../support/go-bot.ts";

const SECRETS = ["0123456789abcdef", "0123456789abcdef01234567", "0123456789abcdef0123456789abcdef"];

describe("the Go bot's sealed account data", () => {
  for (const secret of SECRETS) {
    for (const format of ["current", "older"] as const) {
      it(`opens the ${format} format with a ${secret.length}-byte secret`, () => {
        const sealed = new GoSealedText(secret);
        for (const text of ["id", "!room:example.com", "Thank you, ünïcode 🎉 and\nnew lines", ""]) {
          const value = goSeal(secret, text, format);
          assert.deepEqual(sealed.open(value), { kind: "sealed", text }, `${format}: ${value}`);
        }
      });
    }
  }

  it("keeps plaintext written before a secret was set", () => {
    const sealed = new GoSealedText(SECRETS[2]);
    for (const text of ["id", "true", "@*:example.com", "$event:example.com", "Thank you for contacting us!", "42"]) {
      assert.deepEqual(sealed.open(text), { kind: "plain", text });
    }
  });

  it("tells a wrong secret, a damaged value and a missing secret apart", () => {
    const right = SECRETS[2] ?? "";
    const wrong = new GoSealedText("fedcba9876543210fedcba9876543210");
    const current = goSeal(right, "id", "current");
    const older = goSeal(right, "id", "older");
    assert.deepEqual(wrong.open(current), { kind: "unreadable", reason: "the data secret does not open it" });
    assert.equal(wrong.open(older).kind, "doubtful");
    const damaged = `${current.slice(0, 10)}${current[10] === "x" ? "y" : "x"}${current.slice(11)}`;
    assert.deepEqual(new GoSealedText(right).open(damaged), { kind: "unreadable", reason: "the data secret does not open it" });
    assert.deepEqual(new GoSealedText(right).open(current.slice(0, -1)), { kind: "unreadable", reason: "it starts like a sealed value but has no closing ]" });
    const none = new GoSealedText(undefined);
    assert.equal(none.open(current).kind, "unreadable");
    assert.match((none.open(older) as { reason: string }).reason, /no data secret is configured/);
    assert.deepEqual(none.open("plain words"), { kind: "plain", text: "plain words" });
  });

  it("refuses a secret of a length AES does not take", () => {
    assert.throws(() => new GoSealedText("too short"), /16, 24 or 32 bytes \(it is 9\)/);
  });
});
