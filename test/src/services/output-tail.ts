/**
 * Keeps the last lines a child process wrote (stdout and stderr interleaved), so an error
 * about a service that died or never became ready can say why.
 */
export class OutputTail {
  readonly #maxLines: number;
  readonly #lines: string[] = [];
  readonly #partial = new Map<string, string>();

  constructor(maxLines = 40) {
    this.#maxLines = maxLines;
  }

  /** Adds a chunk read from the stream named `source` ("stdout", "stderr"). */
  push(source: string, chunk: Buffer | string): void {
    const text = (this.#partial.get(source) ?? '') + chunk.toString();
    const parts = text.split(/\r?\n/);
    this.#partial.set(source, parts.pop() ?? '');
    for (const line of parts) this.#append(line);
  }

  /** The kept lines, oldest first, including any unterminated last line. */
  text(): string {
    const pending = [...this.#partial.values()].filter((line) => line !== '');
    return [...this.#lines, ...pending].join('\n');
  }

  /** Starts over, for example when the service is restarted. */
  clear(): void {
    this.#lines.length = 0;
    this.#partial.clear();
  }

  #append(line: string): void {
    if (line === '') return;
    this.#lines.push(line);
    if (this.#lines.length > this.#maxLines) this.#lines.splice(0, this.#lines.length - this.#maxLines);
  }
}
