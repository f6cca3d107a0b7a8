/**
 * The raw write ceiling of an influxd: line protocol straight to the 1.x `/write`, in bodies of
 * `linesPerBody` lines, `connections` requests in parallel over keep-alive sockets. What the
 * end-to-end and store benchmarks compare themselves against, in the same run.
 */
import { Agent, request } from 'node:http';

function post(agent: Agent, url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Writes every line; resolves with the seconds the writes took (bodies are built before the clock starts). */
export async function writeLinesRaw(influxUrl: string, db: string, lines: Iterable<string>, connections: number, linesPerBody = 5_000): Promise<number> {
  const bodies: string[] = [];
  let chunk: string[] = [];
  for (const line of lines) {
    chunk.push(line);
    if (chunk.length === linesPerBody) {
      bodies.push(chunk.join('\n'));
      chunk = [];
    }
  }
  if (chunk.length > 0) bodies.push(chunk.join('\n'));
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const t0 = performance.now();
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (next < bodies.length) {
          const body = bodies[next++] as string;
          const status = await post(agent, `${influxUrl}/write?db=${encodeURIComponent(db)}&precision=ms`, body);
          if (status !== 204) throw new Error(`raw write answered ${status}`);
        }
      }),
    );
    return (performance.now() - t0) / 1000;
  } finally {
    agent.destroy();
  }
}
