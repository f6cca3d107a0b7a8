import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpError, InfluxDB, Point } from '@influxdata/influxdb-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createInfluxV1Transport,
  createInfluxV1WriteApi,
  toV1WritePath,
  type InfluxV1Transport,
} from '../src/adapters/influx-v1-transport.js';

interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

type Reply = (request: RecordedRequest, response: http.ServerResponse) => void;

/** A real HTTP server on 127.0.0.1:0 that records what arrives and answers via `reply`. */
interface Recorder {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Requests whose reply has not been sent yet. */
  active: number;
  maxActive: number;
  reply: Reply;
  /** Resolves once `count` requests have arrived in total. */
  received(count: number): Promise<void>;
  close(): Promise<void>;
}

const noContent: Reply = (_request, response) => {
  response.writeHead(204).end();
};

async function startRecorder(): Promise<Recorder> {
  const waiters: { count: number; resolve: () => void }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      recorder.requests.push(recorded);
      recorder.active += 1;
      recorder.maxActive = Math.max(recorder.maxActive, recorder.active);
      res.once('finish', () => {
        recorder.active -= 1;
      });
      for (const waiter of waiters.filter((w) => recorder.requests.length >= w.count)) waiter.resolve();
      recorder.reply(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const recorder: Recorder = {
    url: `http://127.0.0.1:${port}`,
    requests: [],
    active: 0,
    maxActive: 0,
    reply: noContent,
    received: (count) =>
      recorder.requests.length >= count
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ count, resolve })),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return recorder;
}

function sendAsPromise(transport: InfluxV1Transport, path: string, body: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    let status: number | undefined;
    transport.send(path, body, { method: 'POST' }, {
      responseStarted: (_headers, statusCode) => {
        status = statusCode;
      },
      error: reject,
      complete: () => resolve(status),
    });
  });
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function recorder(): Promise<Recorder> {
  const started = await startRecorder();
  cleanups.push(() => started.close());
  return started;
}

describe('toV1WritePath', () => {
  it.each([
    ['ns', 'n'],
    ['us', 'u'],
    ['ms', 'ms'],
    ['s', 's'],
  ])('maps precision %s to the 1.x precision %s', (v2, v1) => {
    expect(toV1WritePath(`/api/v2/write?org=o&bucket=b&precision=${v2}`, { db: 'telemetry' })).toBe(
      `/write?db=telemetry&precision=${v1}`,
    );
  });

  it('targets the configured database and retention policy, not the org and bucket', () => {
    const path = toV1WritePath('/api/v2/write?org=acme&bucket=other&precision=ns', { db: 'telemetry', rp: 'week' });
    expect(path).toBe('/write?db=telemetry&rp=week&precision=n');
  });

  it('adds u and p when credentials are given and encodes every value', () => {
    const path = toV1WritePath('/api/v2/write?org=&bucket=x&precision=s&consistency=one', {
      db: 'my db',
      rp: 'r&p',
      username: 'bob',
      password: 's3cr=t&x',
    });
    const url = new URL(path, 'http://influx');
    expect(url.pathname).toBe('/write');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      db: 'my db',
      rp: 'r&p',
      precision: 's',
      consistency: 'one',
      u: 'bob',
      p: 's3cr=t&x',
    });
  });

  it('leaves the precision out when the client sent none (1.x then reads nanoseconds)', () => {
    expect(toV1WritePath('/api/v2/write?org=o&bucket=b', { db: 'd' })).toBe('/write?db=d');
  });

  it.each(['/query?q=SHOW%20DATABASES', '/ping', '/api/v2/writes?x=1', '/api/v2/query?org=o'])(
    'passes %s through unchanged',
    (path) => {
      expect(toV1WritePath(path, { db: 'd', username: 'u', password: 'p' })).toBe(path);
    },
  );
});

describe('createInfluxV1WriteApi against a recording HTTP server', () => {
  it('posts batches of line protocol to /write with the mapped precision', async () => {
    const server = await recorder();
    const writer = createInfluxV1WriteApi({ url: server.url, db: 'telemetry', rp: 'autogen', precision: 'us' });
    writer.writeApi.writePoint(new Point('telemetry').tag('device', 'd-1').floatField('temp', 21.5).timestamp(1_700_000_000_000_000));
    writer.writeApi.writePoint(new Point('telemetry').tag('device', 'd-2').floatField('temp', 19).timestamp(1_700_000_000_000_001));
    await writer.close();

    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/write?db=telemetry&rp=autogen&precision=u');
    expect(request?.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(request?.body).toBe(
      'telemetry,device=d-1 temp=21.5 1700000000000000\ntelemetry,device=d-2 temp=19 1700000000000001',
    );
  });

  it('keeps a path prefix of the base URL', async () => {
    const server = await recorder();
    const writer = createInfluxV1WriteApi({ url: `${server.url}/influx/`, db: 'd', precision: 's' });
    writer.writeApi.writeRecord('m v=1 1');
    await writer.close();
    expect(server.requests.map((r) => r.url)).toEqual(['/influx/write?db=d&precision=s']);
  });

  it('sends credentials as u and p', async () => {
    const server = await recorder();
    const writer = createInfluxV1WriteApi({ url: server.url, db: 'd', username: 'writer', password: 'pa ss', precision: 'ms' });
    writer.writeApi.writeRecord('m v=1 1');
    await writer.close();
    const url = new URL(server.requests[0]?.url ?? '', server.url);
    expect(url.searchParams.get('u')).toBe('writer');
    expect(url.searchParams.get('p')).toBe('pa ss');
  });

  it('rejects close() with the HTTP error influxd answered', async () => {
    const server = await recorder();
    server.reply = (_request, response) => {
      response
        .writeHead(400, { 'content-type': 'application/json', 'x-influxdb-error': 'unable to parse' })
        .end('{"error":"unable to parse \'bad\': invalid field format"}');
    };
    const writer = createInfluxV1WriteApi({
      url: server.url,
      db: 'd',
      // Report failures to the caller instead of the client's console logger.
      writeOptions: { writeFailed: (error) => Promise.reject(error) },
    });
    writer.writeApi.writeRecord('bad');
    const failure = await writer.close().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(HttpError);
    expect((failure as HttpError).statusCode).toBe(400);
    expect((failure as HttpError).body).toContain('invalid field format');
  });
});

describe('createInfluxV1Transport', () => {
  it('passes requests other than writes through unchanged', async () => {
    const server = await recorder();
    server.reply = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"results":[{"statement_id":0}]}');
    };
    const transport = createInfluxV1Transport({ url: server.url, db: 'd' });
    cleanups.push(() => transport.close());
    const result: unknown = await transport.request('/query?db=d&q=SHOW%20MEASUREMENTS', '', { method: 'GET' });
    expect(result).toEqual({ results: [{ statement_id: 0 }] });
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /query?db=d&q=SHOW%20MEASUREMENTS']);
  });

  it('works as the transport of an InfluxDB client', async () => {
    const server = await recorder();
    const transport = createInfluxV1Transport({ url: server.url, db: 'plant', rp: 'raw' });
    cleanups.push(() => transport.close());
    const writeApi = new InfluxDB({ url: server.url, transport }).getWriteApi('org', 'bucket', 'ns');
    writeApi.writeRecord('m,device=a v=1i 5');
    await writeApi.close();
    expect(await transport.drain(5_000)).toBe(true);
    expect(server.requests.map((r) => r.url)).toEqual(['/write?db=plant&rp=raw&precision=n']);
  });

  it('never has more requests open than maxSockets and queues the rest in its agent', async () => {
    const server = await recorder();
    const held: http.ServerResponse[] = [];
    server.reply = (_request, response) => {
      held.push(response);
    };
    const transport = createInfluxV1Transport({ url: server.url, db: 'd', maxSockets: 4 });
    cleanups.push(() => transport.close());

    const sends = Array.from({ length: 10 }, (_, i) => sendAsPromise(transport, '/api/v2/write?precision=s', `m v=${i} 1`));
    await server.received(4);
    const queued = Object.values(transport.agent.requests).reduce((sum, queue) => sum + (queue?.length ?? 0), 0);
    expect(server.requests).toHaveLength(4);
    expect(queued).toBe(6);
    expect(transport.inFlight).toBe(10);

    // Answer every held request, including those that arrive as sockets free up.
    server.reply = noContent;
    for (const response of held.splice(0)) response.writeHead(204).end();
    expect(await Promise.all(sends)).toEqual(Array.from({ length: 10 }, () => 204));
    expect(server.requests).toHaveLength(10);
    expect(server.maxActive).toBe(4);
    expect(transport.inFlight).toBe(0);
    expect(new Set(server.requests.map((r) => r.url))).toEqual(new Set(['/write?db=d&precision=s']));
  });

  it('drain() waits for requests already sent and reports false at its deadline', async () => {
    const server = await recorder();
    const held: http.ServerResponse[] = [];
    server.reply = (_request, response) => {
      held.push(response);
    };
    const transport = createInfluxV1Transport({ url: server.url, db: 'd' });
    cleanups.push(() => transport.close());

    const sent = sendAsPromise(transport, '/api/v2/write?precision=ns', 'm v=1 1');
    await server.received(1);
    expect(await transport.drain(20)).toBe(false);

    const drained = transport.drain(5_000);
    held[0]?.writeHead(204).end();
    expect(await drained).toBe(true);
    expect(await sent).toBe(204);
  });
});
