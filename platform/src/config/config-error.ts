/** Codes of the errors the configuration module throws (STYLE rule 8). */
export type ConfigErrorCode =
  | 'CONFIG_SECRET_KEY_INVALID'
  | 'CONFIG_SECRET_KEY_UNREADABLE'
  | 'CONFIG_SECRET_KEY_WRITE_FAILED'
  | 'CONFIG_SECRET_KEY_INSECURE'
  | 'CONFIG_FILE_MODES_INSECURE';

/** A coded configuration error; its message is one line that never holds a secret. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code: ConfigErrorCode;

  constructor(code: ConfigErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
