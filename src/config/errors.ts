/** A config's problems, in their own module: the service's start reads a cached config without the YAML parser. */
export interface ConfigProblem {
  /** Dotted key path, e.g. `doors.0.reader.profile`. */
  key: string;
  line: number | null;
  message: string;
  /** Reported, but the config is still usable (check-config exits 0). */
  warning?: true;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(
      `${file}: ${problems.map((p) => `${p.line ? `line ${p.line}: ` : ''}${p.key || '(top)'}: ${p.message}`).join('; ')}`,
    );
    this.name = 'ConfigError';
  }
}
