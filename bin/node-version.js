// Which Node.js versions honoroit runs on: package.json's engines, checked by bin/honoroit
// before anything else loads (on an older Node the prompts and the SQLite driver fail in
// obscure ways) and by the CI script before it installs anything. Plain JavaScript that any
// Node.js can parse, since it runs before we know which one this is.

/** package.json's `engines.node`; a test keeps the two equal. */
export const NODE_ENGINES = "^22.22.2 || ^24.15.0 || >=26.0.0";

/**
 * @param {string} version e.g. "22.12.0" (a leading "v" is allowed)
 * @returns {[number, number, number]}
 */
function parts(version) {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
  if (match === null) throw new Error(`not a version: ${version}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/**
 * a compared with b: negative, zero or positive.
 * @param {[number, number, number]} a
 * @param {[number, number, number]} b
 */
function compare(a, b) {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/**
 * Whether `version` satisfies `range`, in the two forms engines uses: `^X.Y.Z` (X.Y.Z or newer
 * with the same major) and `>=X.Y.Z`, joined by `||`.
 * @param {string} version
 * @param {string} [range]
 * @returns {boolean}
 */
export function nodeSatisfies(version, range = NODE_ENGINES) {
  const v = parts(version);
  return range.split("||").some((alternative) => {
    const spec = alternative.trim();
    if (spec.startsWith(">=")) return compare(v, parts(spec.slice(2))) >= 0;
    if (spec.startsWith("^")) {
      const min = parts(spec.slice(1));
      return v[0] === min[0] && compare(v, min) >= 0;
    }
    throw new Error(`unsupported version range: ${spec}`);
  });
}

/**
 * What a person reads when their Node.js is not one of these.
 * @param {string} version
 * @param {string} [range]
 * @returns {string}
 */
export function nodeRefusal(version, range = NODE_ENGINES) {
  const named = range.split("||").map((alternative) => {
    const spec = alternative.trim();
    return spec.startsWith("^") ? `${spec.slice(1)} or newer in the ${parts(spec.slice(1))[0]} line` : `${spec.slice(2)} or newer`;
  });
  const list = named.length > 1 ? `${named.slice(0, -1).join(", ")}, or ${named[named.length - 1]}` : named.join("");
  return `honoroit needs Node.js ${list} (${range}); this is Node.js ${version.replace(/^v/, "")}`;
}
