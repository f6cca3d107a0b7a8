/** `GET /ping` of InfluxDB: up or not, and the `X-Influxdb-Version` header (1.x, 2.x, 3.x all answer it). */
import http from 'node:http';
import https from 'node:https';

export interface PingAnswer {
  readonly status: number;
  /** The X-Influxdb-Version header, e.g. "1.6.7~rc0" or "v2.7.4"; '' when absent. */
  readonly version: string;
}

export function pingInflux(baseUrl: string, agent: http.Agent | undefined, timeoutMs: number): Promise<PingAnswer> {
  const url = new URL(baseUrl);
  const base = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      {
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port,
        path: `${base}/ping`,
        method: 'GET',
        ...(agent === undefined ? {} : { agent }),
        signal: AbortSignal.timeout(timeoutMs),
      },
      (response) => {
        response.resume();
        response.once('error', reject);
        response.once('end', () => {
          const header = response.headers['x-influxdb-version'];
          resolve({ status: response.statusCode ?? 0, version: Array.isArray(header) ? (header[0] ?? '') : (header ?? '') });
        });
      },
    );
    request.once('error', reject);
    request.end();
  });
}

/** `1.x` → v1; anything else that answers (2.x, 3.x, Cloud) speaks `/api/v2/write`. */
export function apiOfVersion(version: string): 'v1' | 'v2' {
  return /^v?1\./.test(version) ? 'v1' : 'v2';
}
