// Files people sent in Matrix, as the core fetches them to carry them elsewhere (a Redmine
// attachment). Only unencrypted media: an encrypted file's keys never reach the core.

/** Downloads a file from the homeserver's media repository. */
export interface MediaSource {
  /**
   * The bytes of an `mxc://` file. Failures are sorted by cause as usual: the homeserver down
   * is retried; a file it does not have, or one larger than `maxBytes`, is final.
   */
  download(mxc: string, maxBytes: number): Promise<Uint8Array>;
}
