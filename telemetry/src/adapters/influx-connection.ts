/**
 * One connection to InfluxDB: the write transport (the v1 shim for 1.x, the client's own for
 * 2.x/3.x), the keep-alive agent with `maxSockets` sockets that writes and queries share, the
 * write path, and the options of InfluxQL queries (`/query`; on 2.x the token is sent as the
 * Basic password of the v1 compatibility API).
 */
import http from 'node:http';
import https from 'node:https';
import { InfluxDB, type Transport } from '@influxdata/influxdb-client';
import { OutpostError } from '@outpost/protocol';
import type { InfluxQLOptions } from './influxql.js';
import { createInfluxV1Transport } from './influx-v1-transport.js';

export interface InfluxConnectionSettings {
  readonly url: string;
  readonly token?: string;
  readonly org?: string;
  readonly bucket?: string;
  readonly db: string;
  readonly rp?: string;
  readonly username?: string;
  readonly password?: string;
  readonly maxSockets?: number;
  readonly timeoutMs?: number;
}

export interface InfluxConnection {
  readonly transport: Transport;
  readonly agent: http.Agent;
  /** `/api/v2/write?…&precision=ms` (the v1 shim maps it to `/write?db=&rp=`). */
  readonly writePath: string;
  readonly query: InfluxQLOptions;
  close(): void;
}

export function createInfluxConnection(o: InfluxConnectionSettings, api: 'v1' | 'v2'): InfluxConnection {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const maxSockets = o.maxSockets ?? 4;
  if (api === 'v1') {
    const transport = createInfluxV1Transport({
      url: o.url,
      db: o.db,
      maxSockets,
      timeoutMs,
      ...(o.rp === undefined ? {} : { rp: o.rp }),
      ...(o.username === undefined ? {} : { username: o.username }),
      ...(o.password === undefined ? {} : { password: o.password }),
    });
    return {
      transport,
      agent: transport.agent,
      // The shim rewrites this to /write?db=&rp=&precision=ms&u=&p=.
      writePath: `/api/v2/write?${new URLSearchParams({ org: '', bucket: o.db, precision: 'ms' }).toString()}`,
      query: { url: o.url, db: o.db, agent: transport.agent, epoch: 'ms', timeoutMs, ...credentials(o.username, o.password), ...(o.rp === undefined ? {} : { rp: o.rp }) },
      close: () => transport.close(),
    };
  }
  if (o.bucket === undefined || o.org === undefined) throw new OutpostError('VALIDATION_FAILED', 'InfluxDB 2.x/3.x needs org and bucket for writes');
  const agentOptions = { keepAlive: true, maxSockets };
  const agent = new URL(o.url).protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const transport = new InfluxDB({ url: o.url, timeout: timeoutMs, transportOptions: { agent }, ...(o.token === undefined ? {} : { token: o.token }) }).transport;
  return {
    transport,
    agent,
    writePath: `/api/v2/write?${new URLSearchParams({ org: o.org, bucket: o.bucket, precision: 'ms' }).toString()}`,
    query: { url: o.url, db: o.db, agent, epoch: 'ms', timeoutMs, ...credentials(o.username ?? 'outpost', o.token), ...(o.rp === undefined ? {} : { rp: o.rp }) },
    close: () => agent.destroy(),
  };
}

function credentials(username: string | undefined, password: string | undefined): { username?: string; password?: string } {
  if (password === undefined) return {};
  return { password, ...(username === undefined ? {} : { username }) };
}
