import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HonoroitError } from "../../src/core/errors.ts";
import {
  OPTION_KEYS,
  OPTION_TABLE,
  fillTemplate,
  formatOption,
  matchesUserPattern,
  parseOption,
  type OptionKey,
  type OptionValues,
} from "../../src/core/options.ts";
import { countPlaceholders } from "../../src/core/option-kinds.ts";

/** Asserts a BAD_ARGUMENT whose message names the key (and whatever else `includes` lists). */
function assertRejected(key: string, raw: string, ...includes: string[]): void {
  assert.throws(
    () => parseOption(key, raw),
    (e: unknown) => {
      assert.ok(e instanceof HonoroitError, `expected a HonoroitError for ${key}=${JSON.stringify(raw)}`);
      assert.equal(e.code, "BAD_ARGUMENT");
      for (const part of [key, ...includes]) assert.ok(e.message.includes(part), `"${e.message}" should mention "${part}"`);
      return true;
    },
  );
}

interface Case {
  readonly key: OptionKey;
  readonly good: readonly (readonly [raw: string, stored: string])[];
  readonly bad: readonly string[];
}

const BOOL_GOOD = [
  ["yes", "true"],
  ["TRUE", "true"],
  ["1", "true"],
  ["Y", "true"],
  [" no ", "false"],
  ["False", "false"],
  ["0", "false"],
  ["n", "false"],
] as const;
const BOOL_BAD = ["", "maybe", "on", "off", "2", "yess", "t"];

const CASES: readonly Case[] = [
  {
    key: "allow.users",
    good: [
      ["@*:*", "@*:*"],
      ["@*:Example.COM", "@*:example.com"],
      [" @alice:example.com , @support-?:*.example.org ", "@alice:example.com,@support-?:*.example.org"],
      ["@a:x,,@a:x", "@a:x"],
      ["@bot:localhost:8448", "@bot:localhost:8448"],
    ],
    bad: ["", " , ", "alice", "@alice", "alice:example.com", "@*:*,bob", "@al ice:example.com", ":example.com"],
  },
  {
    key: "ignore.rooms",
    good: [
      ["", ""],
      ["!abc:example.com", "!abc:example.com"],
      ["!a:x, !b:y ,!a:x", "!a:x,!b:y"],
    ],
    bad: ["#alias:example.com", "!a:x,abc", "@user:example.com", "! a:x"],
  },
  { key: "ignore.nothread", good: BOOL_GOOD, bad: BOOL_BAD },
  { key: "silent", good: BOOL_GOOD, bad: BOOL_BAD },
  {
    key: "msgtype",
    good: [
      ["m.notice", "m.notice"],
      [" M.Text ", "m.text"],
    ],
    bad: ["", "notice", "m.emote", "m.image", "text"],
  },
  {
    key: "text.prefix.open",
    good: [
      ["[OPEN]", "[OPEN]"],
      ["  🟢 open ", "🟢 open"],
    ],
    bad: ["", "   ", "two\nlines", "[%s]", "x".repeat(101)],
  },
  {
    key: "text.prefix.done",
    good: [["[CLOSED]", "[CLOSED]"]],
    bad: ["", "a\nb"],
  },
  {
    key: "text.greetings",
    good: [
      ["Hello!", "Hello!"],
      ["  Hi,\nwe are on it.  ", "Hi,\nwe are on it."],
    ],
    bad: ["", "  ", "Hello %s", "x".repeat(4001)],
  },
  {
    key: "text.greetings.customer",
    good: [["This is your %s request.", "This is your %s request."]],
    bad: ["Hello!", "Your %s request, %s", ""],
  },
  { key: "text.greetings.before.encryption", good: [["Please do not encrypt.", "Please do not encrypt."]], bad: ["%s", ""] },
  { key: "text.join", good: [["%s joined", "%s joined"]], bad: ["someone joined", "%s and %s joined"] },
  { key: "text.invite", good: [["%s invited %s", "%s invited %s"]], bad: ["%s invited someone", "someone was invited", "%s %s %s"] },
  { key: "text.leave", good: [["bye, %s", "bye, %s"]], bad: ["someone left", "%s%s"] },
  { key: "text.emptyroom", good: [["Room is empty.", "Room is empty."]], bad: ["%s left", ""] },
  { key: "text.error", good: [["Oops.", "Oops."]], bad: ["Oops %s", ""] },
  { key: "text.start", good: [["Hi there!", "Hi there!"]], bad: ["Hi %s!", ""] },
  {
    key: "text.count",
    good: [
      ["Counted.", "Counted."],
      ["Counted: %s", "Counted: %s"],
    ],
    bad: ["%s and %s", ""],
  },
  { key: "text.done", good: [["Done, thanks!", "Done, thanks!"]], bad: ["Done %s", ""] },
  { key: "text.done.auto", good: [["Closed for inactivity.", "Closed for inactivity."]], bad: ["%s", ""] },
  {
    key: "autoclose.after",
    good: [
      ["7d", "7d"],
      ["0", "0"],
      ["1w", "7d"],
      ["36h", "1d12h"],
      [" 2D ", "2d"],
      ["1m", "1m"],
    ],
    bad: ["", "7", "seven days", "-1d", "30s", "1d 2x"],
  },
  {
    key: "power.level",
    good: [
      ["50", "50"],
      [" 0 ", "0"],
      ["100", "100"],
    ],
    bad: ["", "-1", "1001", "fifty", "50.5", "5 0"],
  },
];

describe("options: the table", () => {
  it("has a test case for every option", () => {
    assert.deepEqual(
      CASES.map((c) => c.key).sort(),
      [...OPTION_KEYS].sort(),
    );
  });

  it("has unique keys, each with a description, accepted values and a default that parses and round-trips", () => {
    assert.equal(new Set(OPTION_KEYS).size, OPTION_TABLE.length);
    for (const def of OPTION_TABLE) {
      assert.ok(def.description.length > 10, `${def.key} needs a description`);
      assert.ok(def.accepts.length > 0, `${def.key} needs accepted values`);
      const value = parseOption(def.key, def.default);
      assert.equal(formatOption(def.key, value), def.default, `${def.key}: the default is stored in normal form`);
    }
  });

  it("has the defaults an existing deployment expects", () => {
    assert.deepEqual(parseOption("allow.users", "@*:*"), ["@*:*"]);
    const defaults = Object.fromEntries(OPTION_TABLE.map((d) => [d.key, d.default]));
    assert.equal(defaults["allow.users"], "@*:*");
    assert.equal(defaults["ignore.rooms"], "");
    assert.equal(defaults["silent"], "false");
    assert.equal(defaults["ignore.nothread"], "false");
    assert.equal(defaults["msgtype"], "m.notice");
    assert.equal(defaults["text.prefix.open"], "[OPEN]");
    assert.equal(defaults["text.prefix.done"], "[DONE]");
    assert.equal(defaults["autoclose.after"], "7d");
  });

  for (const c of CASES) {
    describe(c.key, () => {
      for (const [raw, stored] of c.good) {
        it(`accepts ${JSON.stringify(raw)} and stores ${JSON.stringify(stored)}`, () => {
          const value = parseOption(c.key, raw);
          const formatted = formatOption(c.key, value);
          assert.equal(formatted, stored);
          assert.deepEqual(parseOption(c.key, formatted), value, "the stored form parses to the same value");
        });
      }
      for (const raw of c.bad) {
        it(`rejects ${JSON.stringify(raw.length > 40 ? raw.slice(0, 40) + "…" : raw)}`, () => {
          assertRejected(c.key, raw, "accepted:");
        });
      }
    });
  }
});

describe("options: typed values", () => {
  it("parses to the types the core uses", () => {
    const silent: OptionValues["silent"] = parseOption("silent", "yes");
    const after: OptionValues["autoclose.after"] = parseOption("autoclose.after", "2h");
    const msgtype: OptionValues["msgtype"] = parseOption("msgtype", "m.text");
    const rooms: OptionValues["ignore.rooms"] = parseOption("ignore.rooms", "!a:x");
    assert.equal(silent, true);
    assert.equal(after, 2 * 3_600_000);
    assert.equal(msgtype, "m.text");
    assert.deepEqual(rooms, ["!a:x"]);
  });

  it("names the accepted values in rejections", () => {
    assertRejected("silent", "maybe", "yes", "true", "no", "false");
    assertRejected("msgtype", "m.emote", "m.notice", "m.text");
    assertRejected("text.invite", "%s came", "exactly two %s", "inviter", "invitee");
    assertRejected("text.greetings.customer", "hi", "exactly one %s", "ordinal");
    assertRejected("autoclose.after", "30s", "too short", "0 to turn it off");
  });
});

describe("options: unknown keys", () => {
  it("lists the valid keys and suggests the closest one", () => {
    assert.throws(
      () => parseOption("text.greeting", "hi"),
      (e: unknown) =>
        e instanceof HonoroitError &&
        e.code === "BAD_ARGUMENT" &&
        e.message.includes('unknown option "text.greeting"') &&
        e.message.includes("did you mean text.greetings?") &&
        e.message.includes("allow.users, ignore.rooms"),
    );
    assert.throws(() => parseOption("nothread", "y"), /did you mean ignore\.nothread\?/);
    assert.throws(() => parseOption("alow.users", "@*:*"), /did you mean allow\.users\?/);
    assert.throws(
      () => parseOption("completely-different", "x"),
      (e: unknown) => e instanceof HonoroitError && !e.message.includes("did you mean"),
    );
  });

  it("accepts keys in any case", () => {
    assert.equal(parseOption("SILENT", "yes"), true);
  });
});

describe("options: matchesUserPattern", () => {
  const cases: readonly (readonly [user: string, patterns: readonly string[], expected: boolean])[] = [
    ["@alice:example.com", ["@*:*"], true],
    ["@alice:example.com", ["@*:example.com"], true],
    ["@alice:example.org", ["@*:example.com"], false],
    ["@alice:sub.example.com", ["@*:example.com"], false],
    ["@alice:sub.example.com", ["@*:*.example.com"], true],
    ["@alice:example.com", ["@alice:example.com"], true],
    ["@alice:EXAMPLE.com", ["@alice:example.com"], true],
    ["@alice:example.com", ["@alice:Example.COM"], true],
    ["@Alice:example.com", ["@alice:example.com"], false],
    ["@alicex:example.com", ["@alice:example.com"], false],
    ["@support-1:example.com", ["@support-?:example.com"], true],
    ["@support-12:example.com", ["@support-?:example.com"], false],
    ["@support-:example.com", ["@support-?:example.com"], false],
    ["@telegram_123:example.com", ["@telegram_*:*"], true],
    ["@bob:example.com", ["@alice:*", "@bob:*"], true],
    ["@bob:example.com", [], false],
    // A localpart `*` cannot swallow the server part.
    ["@a:evil.org", ["@*example.com:*"], false],
    ["@a:b:example.com", ["@a:*"], true],
    ["@bot:localhost:8448", ["@*:localhost:*"], true],
    ["@bot:localhost", ["@*:localhost:*"], false],
    ["@a:x.com", ["@*:x.c?m"], true],
    ["@a:x.com", ["@**:*"], true],
    ["not-a-user", ["@*:*"], false],
  ];
  for (const [user, patterns, expected] of cases) {
    it(`${user} ${expected ? "matches" : "does not match"} ${patterns.join(",") || "(nothing)"}`, () => {
      assert.equal(matchesUserPattern(user, patterns), expected);
    });
  }

  it("is quick on adversarial patterns", () => {
    const started = Date.now();
    assert.equal(matchesUserPattern(`@${"a".repeat(5000)}:x`, [`@${"*a".repeat(50)}b:x`]), false);
    assert.ok(Date.now() - started < 1000);
  });
});

describe("options: templates", () => {
  it("counts %s placeholders", () => {
    assert.equal(countPlaceholders("no placeholder"), 0);
    assert.equal(countPlaceholders("%s"), 1);
    assert.equal(countPlaceholders("%s invited %s"), 2);
    assert.equal(countPlaceholders("100% sure, %d"), 0);
  });

  it("fills %s in order; missing arguments are empty, extra ones ignored", () => {
    assert.equal(fillTemplate("%s invited %s.", "Alice", "Bob"), "Alice invited Bob.");
    assert.equal(fillTemplate("Your %s request", "2nd"), "Your 2nd request");
    assert.equal(fillTemplate("%s and %s", "one"), "one and ");
    assert.equal(fillTemplate("Counted.", "3rd request"), "Counted.");
    assert.equal(fillTemplate("%s", "%s literally"), "%s literally", "arguments are not re-scanned");
  });

  it("fills every default template with its arguments", () => {
    const greeting = fillTemplate(parseOption("text.greetings.customer", OPTION_TABLE.find((d) => d.key === "text.greetings.customer")?.default ?? ""), "2nd");
    assert.match(greeting, /your 2nd request/);
    assert.doesNotMatch(greeting, /%s/);
  });
});
