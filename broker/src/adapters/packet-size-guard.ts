/**
 * The MQTT packet size limit, enforced before a packet is buffered (issue 11, D3). aedes 1.x
 * (mqtt-packet's parser) has no maximum packet size for MQTT 3.1.1: it keeps every byte of a
 * packet until the declared remaining length has arrived, so a 200 MB PUBLISH costs 200 MB
 * before any hook sees it. This Duplex sits between the TLS socket and aedes: it reads the
 * fixed header of each packet as the bytes pass (type byte, then the variable-length
 * "remaining length", at most 4 bytes) and skips the body without keeping it. A packet that
 * declares more than the limit — or a remaining length longer than 4 bytes, which MQTT forbids —
 * destroys the connection before its body is read, and `onRefused` says why.
 *
 * Writes go straight to the socket; the wrapped socket stays reachable as `socket` (its
 * certificate and address are read from it).
 */
import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

export interface PacketRefusal {
  readonly code: 'PACKET_TOO_LARGE' | 'PACKET_MALFORMED';
  /** The declared remaining length (bytes after the fixed header); absent when malformed. */
  readonly declaredBytes?: number;
  readonly message: string;
}

/** Reads MQTT fixed headers across chunk boundaries and counts down each packet's body. */
export class PacketHeaderScanner {
  readonly #maxRemaining: number;
  /** Body bytes of the current packet still to skip; -1 while reading a header. */
  #skip = -1;
  #haveType = false;
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;

  constructor(maxRemainingBytes: number) {
    this.#maxRemaining = maxRemainingBytes;
  }

  /** Scans a chunk; answers the first refusal in it, or undefined when every header in it is acceptable. */
  scan(chunk: Buffer): PacketRefusal | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.#skip > 0) {
        const take = Math.min(this.#skip, chunk.length - i);
        this.#skip -= take;
        i += take;
        if (this.#skip === 0) this.#skip = -1;
        continue;
      }
      const byte = chunk[i] ?? 0;
      i += 1;
      if (!this.#haveType) {
        this.#haveType = true;
        continue;
      }
      this.#length += (byte & 0x7f) * this.#multiplier;
      this.#multiplier *= 128;
      this.#lengthBytes += 1;
      if (this.#length > this.#maxRemaining) {
        return { code: 'PACKET_TOO_LARGE', declaredBytes: this.#length, message: `the packet declares at least ${this.#length} bytes; the limit is ${this.#maxRemaining}` };
      }
      if ((byte & 0x80) !== 0) {
        if (this.#lengthBytes >= 4) return { code: 'PACKET_MALFORMED', message: 'the remaining length of a packet is longer than 4 bytes' };
        continue;
      }
      this.#skip = this.#length === 0 ? -1 : this.#length;
      this.#haveType = false;
      this.#length = 0;
      this.#multiplier = 1;
      this.#lengthBytes = 0;
    }
    return undefined;
  }
}

export class PacketSizeGuard extends Duplex {
  readonly socket: TLSSocket;
  readonly #scanner: PacketHeaderScanner;
  readonly #onRefused: (refusal: PacketRefusal) => void;

  constructor(socket: TLSSocket, maxRemainingBytes: number, onRefused: (refusal: PacketRefusal) => void) {
    super({ allowHalfOpen: false });
    this.socket = socket;
    this.#scanner = new PacketHeaderScanner(maxRemainingBytes);
    this.#onRefused = onRefused;
    socket.on('data', (chunk: Buffer) => {
      const refusal = this.#scanner.scan(chunk);
      if (refusal !== undefined) {
        this.#onRefused(refusal);
        this.destroy();
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.once('end', () => this.push(null));
    socket.once('error', (err) => this.destroy(err));
    socket.once('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.socket.destroyed) return callback();
    this.socket.write(chunk, (err) => callback(err));
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}
