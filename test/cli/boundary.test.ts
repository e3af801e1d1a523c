import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { reportError } from "../../src/cli/boundary.ts";
import { HonoroitError } from "../../src/core/errors.ts";
import type { Sink } from "../../src/cli/output.ts";

class Capture implements Sink {
  text = "";
  write(s: string): void {
    this.text += s;
  }
}

describe("CLI error boundary", () => {
  const cases: [HonoroitError, number][] = [
    [new HonoroitError("BAD_ARGUMENT", "bad"), 2],
    [new HonoroitError("BAD_CONFIG", "bad config", { details: ["port (env HONOROIT_PORT): out of range"] }), 2],
    [new HonoroitError("NOT_AVAILABLE", "later"), 2],
    [new HonoroitError("NOT_FOUND", "no such ticket"), 3],
    [new HonoroitError("UNREACHABLE", "cannot reach"), 4],
  ];
  for (const [error, code] of cases) {
    it(`${error.code} → exit ${code}, message and details shown`, () => {
      const err = new Capture();
      const logged: string[] = [];
      assert.equal(reportError(error, err, (l) => logged.push(l)), code);
      assert.match(err.text, new RegExp(`^error: ${error.message}\n`));
      for (const d of error.details) assert.ok(err.text.includes(`  - ${d}\n`));
      assert.deepEqual(logged, []);
    });
  }

  it("an unexpected error → exit 1, a reference on screen, the stack only in the log", () => {
    const err = new Capture();
    const logged: string[] = [];
    const code = reportError(new TypeError("cannot read properties of undefined"), err, (l) => logged.push(l));
    assert.equal(code, 1);
    const ref = /internal error \(reference ([a-z0-9]+)\)/.exec(err.text)?.[1];
    assert.ok(ref !== undefined, err.text);
    assert.ok(!err.text.includes("TypeError"), "no stack on screen");
    assert.equal(logged.length, 1);
    assert.match(logged[0] ?? "", new RegExp(`ref=${ref} .*TypeError: cannot read properties of undefined`));
  });
});
