/**
 * The MQTT packet size limit, enforced before a packet is buffered (issue 11, D3). aedes 1.x
 * (mqtt-packet's parser) has no maximum packet size for MQTT 3.1.1: it keeps every byte of a
 * packet until the declared remaining length has arrived, so a 200 MB PUBLISH costs 200 MB
 * before any hook sees it. The guard scans each chunk aedes reads from the TLS socket: it reads the
 * fixed header of each packet as the bytes pass (type byte, then the variable-length
 * "remaining length", at most 4 bytes) and skips the body without keeping it. A packet that
 * declares more than the limit — or a remaining length longer than 4 bytes, which MQTT forbids —
 * destroys the connection before its body is read, and `onRefused` says why.
 */
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

/**
 * Guards a TLS socket aedes reads (aedes takes each batch with `conn.read()` on 'readable'):
 * every chunk is scanned as it is read, before aedes' parser sees it; a refused one is never
 * handed over — the socket is destroyed and the read answers null. At most what the socket has
 * buffered (its high-water mark, one TLS record or so) is held before the refusal. No stream is
 * put in between: a Duplex per connection cost about 4 kB of heap per idle session (issue 12).
 */
export function guardPacketSizes(socket: TLSSocket, maxRemainingBytes: number, onRefused: (refusal: PacketRefusal) => void): TLSSocket {
  const scanner = new PacketHeaderScanner(maxRemainingBytes);
  const read = socket.read.bind(socket);
  socket.read = (size?: number): unknown => {
    const chunk: unknown = read(size);
    if (!Buffer.isBuffer(chunk)) return chunk;
    const refusal = scanner.scan(chunk);
    if (refusal === undefined) return chunk;
    onRefused(refusal);
    socket.destroy();
    return null;
  };
  return socket;
}
