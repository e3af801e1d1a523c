// The real `honoroit` binary in a pseudo-terminal (util-linux `script`), driven by keystrokes
// as a person types them, and the screen as that person sees it: a small model of a terminal
// applies the output's cursor movements and erasures, so a prompt redrawn on every keystroke
// shows once, as it ends up.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { BIN, childEnv } from "./serve-process.ts";
import { waitFor } from "./synapse.ts";

/** Keys as a terminal sends them. */
export const KEY = { enter: "\r", backspace: "\u007f", down: "\u001b[B", up: "\u001b[A" } as const;

const quote = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`;

/**
 * The text a terminal shows for some output: printable characters overwrite what is under the
 * cursor; CR, LF, cursor movement (CSI A B C D G), erase in line (CSI K) and erase below
 * (CSI J) move and clear; colours and modes (CSI m, ?25l, …) change nothing on the text.
 */
export class Screen {
  private readonly lines: string[][] = [[]];
  private row = 0;
  private col = 0;

  write(output: string): void {
    for (let i = 0; i < output.length; i++) {
      const ch = output[i] ?? "";
      if (ch === "\u001b") {
        if (output[i + 1] !== "[") {
          i += 1; // a two-character escape (e.g. ESC 7): nothing on the text
          continue;
        }
        // CSI: parameters, intermediates, then one final character in @ to ~.
        let end = i + 2;
        while (end < output.length && !/[@-~]/.test(output[end] ?? "")) end++;
        this.control(output.slice(i + 2, end).replace(/[ -/]+$/, ""), output[end] ?? "");
        i = end;
      } else if (ch === "\r") this.col = 0;
      else if (ch === "\n") this.moveTo(this.row + 1, this.col);
      else if (ch === "\b") this.col = Math.max(0, this.col - 1);
      else if (ch >= " " || ch === "\t") {
        const line = this.line(this.row);
        while (line.length < this.col) line.push(" ");
        line[this.col] = ch;
        this.col += 1;
      }
    }
  }

  /** The lines shown, without trailing blanks and trailing empty lines. */
  text(): string[] {
    const shown = this.lines.map((l) => l.join("").trimEnd());
    while (shown.length > 0 && shown[shown.length - 1] === "") shown.pop();
    return shown;
  }

  private line(row: number): string[] {
    while (this.lines.length <= row) this.lines.push([]);
    return this.lines[row] ?? [];
  }

  private moveTo(row: number, col: number): void {
    this.row = Math.max(0, row);
    this.col = Math.max(0, col);
    this.line(this.row);
  }

  private control(params: string, final: string): void {
    if (params.startsWith("?")) return; // modes: cursor shown or hidden
    const n = params === "" ? undefined : Number(params.split(";")[0]);
    const count = n === undefined || n === 0 ? 1 : n;
    if (final === "A") this.moveTo(this.row - count, this.col);
    else if (final === "B") this.moveTo(this.row + count, this.col);
    else if (final === "C") this.moveTo(this.row, this.col + count);
    else if (final === "D") this.moveTo(this.row, this.col - count);
    else if (final === "G") this.moveTo(this.row, count - 1);
    else if (final === "K") {
      const line = this.line(this.row);
      if (n === undefined || n === 0) line.splice(this.col);
      else if (n === 1) for (let c = 0; c <= this.col && c < line.length; c++) line[c] = " ";
      else line.splice(0);
    } else if (final === "J") {
      if (n === undefined || n === 0) {
        this.line(this.row).splice(this.col);
        this.lines.splice(this.row + 1);
      } else if (n === 2) this.lines.splice(0, this.lines.length, []);
    }
  }
}

/** `honoroit ARGS` running in a pseudo-terminal. */
export class Terminal {
  /** Everything the program wrote, escapes included. */
  output = "";
  exitCode: number | null | undefined = undefined;
  private readonly screenModel = new Screen();
  private readonly exited: Promise<void>;
  /** Lines before this one are answered questions; a prompt is looked for from here on. */
  private from = 0;

  private constructor(private readonly child: ChildProcess) {
    const take = (d: Buffer): void => {
      const text = d.toString();
      this.output += text;
      this.screenModel.write(text);
    };
    child.stdout?.on("data", take);
    child.stderr?.on("data", take);
    this.exited = new Promise((resolve, reject) => {
      child.once("error", (e) => reject(new Error(`util-linux script is needed to give the binary a terminal: ${e.message}`)));
      child.once("close", (code) => {
        this.exitCode = code;
        resolve();
      });
    });
  }

  /** Starts `honoroit ARGS` with a terminal as its stdin, stdout and stderr. */
  static start(args: readonly string[], env: Record<string, string>, cwd?: string): Terminal {
    const command = [process.execPath, BIN, ...args].map(quote).join(" ");
    // -e: the program's exit code; -f: its output as it comes; the typescript itself goes nowhere.
    const child = spawn("script", ["-qefc", command, "/dev/null"], { env: childEnv({ TERM: "xterm", ...env }), ...(cwd === undefined ? {} : { cwd }), stdio: ["pipe", "pipe", "pipe"] });
    return new Terminal(child);
  }

  /** The screen as the person sees it now. */
  get screen(): string[] {
    return this.screenModel.text();
  }

  /** Waits until a line of the screen, below the questions already answered, matches `pattern`; returns it. */
  async waitForLine(pattern: RegExp, what: string, timeoutMs = 30_000): Promise<string> {
    const at = await waitFor(
      () => {
        const index = this.screen.findIndex((line, i) => i >= this.from && pattern.test(line));
        if (index >= 0) return index;
        if (this.exitCode !== undefined) throw new Error(`honoroit exited with ${String(this.exitCode)} before ${what}; the screen:\n${this.screen.join("\n")}`);
        return undefined;
      },
      { what: `${what}; the screen:\n${this.screen.join("\n")}`, timeoutMs },
    ).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\nthe screen now:\n${this.screen.join("\n")}`);
    });
    return this.screen[at] ?? "";
  }

  /**
   * Waits for the question (the active prompt's line, `? QUESTION`), then types `keys`.
   * Later questions are looked for below this one, so the same question asked again after a
   * refusal is seen as new.
   */
  async answer(question: string, keys: string): Promise<void> {
    const pattern = new RegExp(`^\\? ${question.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`);
    await this.waitForLine(pattern, `the question "${question}"`);
    this.from = this.screen.findIndex((line, i) => i >= this.from && pattern.test(line)) + 1;
    this.type(keys);
  }

  /**
   * Waits for a list question, then moves down its choices, as a person does with the arrow
   * keys, to the first one matching `choice`, and picks it. Returns the choices the list showed
   * (the cursor's mark taken off).
   */
  async choose(question: string, choice: RegExp): Promise<string[]> {
    await this.answer(question, "");
    const list = (): string[] => {
      const below = this.screen.slice(this.from);
      const end = below.findIndex((line) => !/^[❯ ] \S/.test(line));
      return end === -1 ? below : below.slice(0, end);
    };
    const cursor = (): string | undefined => list().find((line) => line.startsWith("❯ "));
    let at = await waitFor(cursor, { what: `the choices of "${question}"; the screen:\n${this.screen.join("\n")}` });
    const shown = list().map((line) => line.slice(2));
    for (let moves = 0; !choice.test(at.slice(2)); moves++) {
      if (moves >= shown.length) throw new Error(`no choice of "${question}" matches ${String(choice)}: ${shown.join(" | ")}`);
      const before = at;
      this.type(KEY.down);
      at = await waitFor(() => {
        const now = cursor();
        return now !== undefined && now !== before ? now : undefined;
      }, { what: `the cursor to move from "${before}"; the screen:\n${this.screen.join("\n")}` });
    }
    this.type(KEY.enter);
    return shown;
  }

  /** Types keys into the terminal. */
  type(keys: string): void {
    this.child.stdin?.write(keys);
  }

  /** Waits for the program to end (killed after `timeoutMs`) and returns its exit code. */
  async exit(timeoutMs = 60_000): Promise<number | null> {
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    await this.exited;
    clearTimeout(timer);
    this.child.stdin?.end();
    return this.exitCode ?? null;
  }

  /** Ends it without waiting for it to finish (a test that failed half-way). */
  kill(): void {
    if (this.exitCode === undefined) this.child.kill("SIGKILL");
  }
}

/** Each pattern matches a line of the screen, each below the one before. */
export function assertInOrder(screen: readonly string[], patterns: readonly RegExp[]): void {
  let from = 0;
  for (const pattern of patterns) {
    const at = screen.findIndex((line, i) => i >= from && pattern.test(line));
    if (at < 0) throw new assert.AssertionError({ message: `no line matching ${String(pattern)} after line ${from} of the screen:\n${screen.join("\n")}` });
    from = at + 1;
  }
}
