import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseTicketIds } from "../../src/cli/commands/tickets-close.ts";
import { isHonoroitError } from "../../src/core/errors.ts";

describe("tickets close: which tickets", () => {
  const cases: [string, readonly string[], number[]][] = [
    ["numbers as arguments", ["42", "#43"], [42, 43]],
    ["spaces, commas and lines from stdin", ["1, 2\n3 4\n"], [1, 2, 3, 4]],
    ["the JSON of tickets list --json", [JSON.stringify([{ id: 7, status: "open" }, { id: 9, status: "open" }])], [7, 9]],
    ["a JSON array of numbers", ["[5, 6]"], [5, 6]],
    ["one JSON object per line", ['{"id": 3}\n{"id": 4}\n'], [3, 4]],
    ["each once", ["2", "2", "#2"], [2]],
  ];
  for (const [name, words, expected] of cases) {
    it(name, () => assert.deepEqual(parseTicketIds(words), expected));
  }

  const bad: [string, readonly string[], RegExp][] = [
    ["a word", ["forty-two"], /not a ticket number: "forty-two"/],
    ["zero", ["0"], /not a ticket number/],
    ["nothing", ["", "  \n"], /no ticket numbers given/],
    ["broken JSON", ["[1, 2"], /not valid JSON/],
    ["an object without id", ['{"ticket": 1}'], /not a ticket number/],
  ];
  for (const [name, words, message] of bad) {
    it(`rejects ${name} with a clear message`, () => {
      assert.throws(() => parseTicketIds(words), (e: unknown) => isHonoroitError(e) && e.code === "BAD_ARGUMENT" && message.test(e.message));
    });
  }
});
