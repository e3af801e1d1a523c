// What the output module prints: a streamed listing must read exactly as the same rows held
// in memory, as a table and as JSON, and must wait while the reader is behind.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { colorFor, printOutput, type Sink, type StreamOutput, type TableOutput } from "../../src/cli/output.ts";

class Capture implements Sink {
  text = "";
  constructor(readonly color = false) {}
  write(s: string): void {
    this.text += s;
  }
}

const COLUMNS = ["ID", "CUSTOMER", "TITLE"] as const;

/** Rows whose widths change along the listing, with text JSON must escape. */
function rowsOf(count: number): string[][] {
  return Array.from({ length: count }, (_, i) => [`#${count - i}`, `@user${i % 13}:${"x".repeat(i % 40)}example.org`, i % 5 === 0 ? `quote " and\nnewline ✓ ${i}` : `title ${i}`]);
}

function jsonOf(row: readonly string[]): unknown {
  return { id: row[0], customer: row[1], title: row[2], nested: { n: row.length, list: [1, { deep: true }] }, none: null };
}

/** The items one at a time, each after a pause, as rows read from a database come. */
async function* each<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const item of items) {
    await Promise.resolve();
    yield item;
  }
}

function held(rows: readonly (readonly string[])[], footer?: string): TableOutput {
  return { kind: "table", columns: COLUMNS, rows, empty: "nothing here", ...(footer === undefined ? {} : { footer }), json: rows.map(jsonOf) };
}

function streamed(rows: readonly (readonly string[])[], footer?: string): StreamOutput & { readonly reads: () => number } {
  let reads = 0;
  return {
    kind: "stream",
    columns: COLUMNS,
    rows() {
      reads++;
      return each(rows);
    },
    empty: "nothing here",
    ...(footer === undefined ? {} : { footer }),
    json() {
      reads++;
      return each(rows.map(jsonOf));
    },
    reads: () => reads,
  };
}

async function printed(output: TableOutput | StreamOutput, json: boolean, color = false): Promise<string> {
  const out = new Capture(color);
  await printOutput(output, json, out);
  return out.text;
}

describe("a streamed listing prints as the held one", () => {
  // Around the number of rows a streamed table keeps before it reads them a second time.
  for (const count of [0, 1, 2, 999, 1000, 1001, 2500]) {
    it(`${count} rows, as a table and as JSON`, async () => {
      const rows = rowsOf(count);
      const footer = count > 2 ? `showing ${count} of ${count + 7}` : undefined;
      assert.equal(await printed(streamed(rows, footer), false), await printed(held(rows, footer), false), "table");
      assert.equal(await printed(streamed(rows, footer), true), await printed(held(rows, footer), true), "JSON");
      assert.equal(await printed(streamed(rows), false, true), await printed(held(rows), false, true), "table with a bold header");
    });
  }

  it("JSON is read once; a table once when short, twice when long", async () => {
    const short = streamed(rowsOf(10));
    await printed(short, true);
    assert.equal(short.reads(), 1);
    const shortTable = streamed(rowsOf(10));
    await printed(shortTable, false);
    assert.equal(shortTable.reads(), 1);
    const long = streamed(rowsOf(1500));
    await printed(long, false);
    assert.equal(long.reads(), 2);
  });

  it("waits for the reader to catch up before writing more", async () => {
    const chunks: string[] = [];
    let waiting: (() => void) | undefined;
    const slow: Sink = {
      write(s) {
        assert.equal(waiting, undefined, "no write while the reader is behind");
        chunks.push(s);
        return false;
      },
      once(_event, listener) {
        waiting = listener;
      },
    };
    const rows = rowsOf(3000);
    const done = printOutput(streamed(rows), true, slow);
    for (let drained = 0; ; drained++) {
      assert.ok(drained < 10_000, "the listing ends");
      await new Promise((resolve) => setImmediate(resolve));
      if (waiting === undefined) break;
      const resume = waiting;
      waiting = undefined;
      resume();
    }
    await done;
    assert.ok(chunks.length > 10, `written in many chunks (${chunks.length})`);
    assert.equal(chunks.join(""), await printed(held(rows), true));
  });
});

describe("colour", () => {
  const cases: readonly (readonly [tty: boolean, env: Record<string, string>, color: boolean])[] = [
    [true, {}, true],
    [false, {}, false],
    [true, { NO_COLOR: "1" }, false],
    [true, { NO_COLOR: "0" }, false],
    [true, { NO_COLOR: "" }, true],
    [true, { TERM: "dumb" }, false],
    [false, { FORCE_COLOR: "1" }, true],
    [false, { FORCE_COLOR: "" }, true],
    [true, { FORCE_COLOR: "0" }, false],
    [true, { FORCE_COLOR: "false" }, false],
    [false, { FORCE_COLOR: "3" }, true],
    [true, { FORCE_COLOR: "yes" }, false],
    [false, { FORCE_COLOR: "1", NO_COLOR: "1" }, true],
  ];
  for (const [tty, env, color] of cases) {
    it(`${tty ? "a terminal" : "no terminal"} with ${JSON.stringify(env)}: ${color ? "colour" : "none"}`, () => {
      assert.equal(colorFor({ isTTY: tty }, env), color);
    });
  }
});
