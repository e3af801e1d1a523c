// Files people sent in Matrix, as the core fetches them to carry them elsewhere (a Redmine
// attachment). A file sent in an encrypted room comes with its keys, and is decrypted here.

/** Downloads a file from the homeserver's media repository. */
export interface MediaSource {
  /**
   * The bytes of an `mxc://` file, decrypted with `encryption` when given. Failures are sorted
   * by cause as usual: the homeserver down is retried; a file it does not have, one larger
   * than `maxBytes`, or one that does not decrypt, is final.
   */
  download(mxc: string, maxBytes: number, encryption?: Readonly<Record<string, unknown>>): Promise<Uint8Array>;
}
