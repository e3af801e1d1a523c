/** Where a value came from, as shown to a person: `flag --log-level`, `env HONOROIT_PORT`, `file /etc/honoroit/honoroit.config.json`, `default`. */
export type Source = "default" | `flag ${string}` | `env ${string}` | `file ${string}`;

/** One thing wrong (or suspicious) with the configuration. */
export interface Problem {
  /** The dotted key (`db.dialect`), an unknown key or variable as written, or `config` for the file itself. */
  readonly key: string;
  readonly source: Source;
  readonly message: string;
  /**
   * Set when the problem only stops the commands that use this capability: the others run
   * with a warning, so an unfinished Redmine setup does not keep `tickets list` from working.
   */
  readonly capability?: Capability;
}

/** A part of the product that only some commands use. */
export type Capability = "redmine";
