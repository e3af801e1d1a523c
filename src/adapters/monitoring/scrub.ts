// What leaves the machine for a monitoring service (a Sentry report, a healthchecks.io fail
// reason) passes through here first: the configured secrets, and anything shaped like a
// credential, become "[redacted]". Error messages and log fields are not written with these
// services in mind, so the scrubbing is done on the way out rather than trusted to every caller.

export const REDACTED = "[redacted]";

/** Field names whose values are credentials whatever they hold: `password`, `accessToken`, `apiKey`, … */
const SECRET_NAME = /(pass|password|passwd|secret|token|authori[sz]ation|api_?key|dsn|cookie)$/i;

/** Credentials recognisable by their shape, each with what replaces it. */
const SECRET_SHAPES: readonly { readonly pattern: RegExp; readonly replace: string }[] = [
  // A token in a query string (Matrix allows ?access_token=).
  { pattern: /\b(access_token|token|api_key|key)=[^&\s"'#]+/gi, replace: `$1=${REDACTED}` },
  // An Authorization header's credentials.
  { pattern: /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/g, replace: `$1 ${REDACTED}` },
  // Synapse access and refresh tokens (syt_…, syr_…), and Matrix Authentication Service ones.
  { pattern: /\b(syt|syr|mat|mar)_[A-Za-z0-9_-]{8,}/g, replace: REDACTED },
  // The password part of a URL (postgres://user:password@host/db).
  { pattern: /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:)[^\s/@]+@/gi, replace: `$1${REDACTED}@` },
];

/** The secrets of one run, and the shapes of any other; see the top of the file. */
export class Scrubber {
  /** Longest first, so a secret that contains another is replaced whole. */
  private readonly secrets: readonly string[];

  constructor(secrets: readonly string[]) {
    this.secrets = [...new Set(secrets.filter((s) => s !== ""))].sort((a, b) => b.length - a.length);
  }

  /** The text with every secret and credential-shaped string replaced. */
  text(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join(REDACTED);
    for (const { pattern, replace } of SECRET_SHAPES) out = out.replace(pattern, replace);
    return out;
  }

  /**
   * A JSON-able copy of `value` with every string scrubbed and every field named like a
   * credential replaced, at most `depth` levels deep.
   */
  value(value: unknown, depth = 6): unknown {
    if (typeof value === "string") return this.text(value);
    if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return value;
    if (typeof value === "bigint") return value.toString();
    if (value instanceof Error) return this.text(value.message);
    if (value instanceof Date) return value.toISOString();
    if (depth <= 0) return "[…]";
    if (Array.isArray(value)) return value.slice(0, 50).map((v) => this.value(v, depth - 1));
    if (typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>).slice(0, 50)) {
        out[k] = SECRET_NAME.test(k) && v !== null && v !== undefined && v !== "" ? REDACTED : this.value(v, depth - 1);
      }
      return out;
    }
    return `[${typeof value}]`;
  }
}
