import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TokenSeal } from "../../src/adapters/matrix/token-seal.ts";

describe("the saved access token at rest", () => {
  it("is sealed with the data secret and opened by it only", () => {
    const seal = new TokenSeal("0123456789abcdef");
    const sealed = seal.seal("syt_secret_token");
    assert.ok(!sealed.includes("syt_secret_token"));
    assert.notEqual(seal.seal("syt_secret_token"), sealed, "a fresh nonce each time");
    assert.equal(seal.open(sealed), "syt_secret_token");
    assert.equal(new TokenSeal("fedcba9876543210").open(sealed), undefined);
    assert.equal(new TokenSeal(undefined).open(sealed), undefined);
    const tampered = sealed.slice(0, -4) + (sealed.endsWith("AAAA") ? "BBBB" : "AAAA");
    assert.equal(seal.open(tampered), undefined);
  });

  it("without a secret it is kept as is; a token saved in clear still opens once a secret is set", () => {
    assert.equal(new TokenSeal(undefined).seal("t"), "t");
    assert.equal(new TokenSeal("0123456789abcdef").open("syt_plain"), "syt_plain");
  });
});
