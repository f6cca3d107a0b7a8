import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chooseLogFormat } from '../../src/server/log-format.js';
import { createPrettyStream, formatLogLine } from '../../src/server/pretty-log.js';

const AT = new Date(2026, 0, 2, 14, 2, 7).getTime(); // local time 14:02:07

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('chooseLogFormat', () => {
  it.each([
    { flag: undefined, configured: 'auto', tty: true, format: 'pretty' },
    { flag: undefined, configured: 'auto', tty: false, format: 'json' },
    { flag: undefined, configured: 'json', tty: true, format: 'json' },
    { flag: undefined, configured: 'pretty', tty: false, format: 'pretty' },
    { flag: 'json', configured: 'pretty', tty: true, format: 'json' },
    { flag: 'pretty', configured: 'json', tty: false, format: 'pretty' },
    { flag: 'auto', configured: 'json', tty: true, format: 'pretty' },
    { flag: 'auto', configured: 'pretty', tty: false, format: 'json' },
  ] as const)('flag $flag, OUTPOST_LOG_FORMAT=$configured, terminal $tty: $format', ({ flag, configured, tty, format }) => {
    expect(chooseLogFormat({ ...(flag === undefined ? {} : { flag }), configured, stdoutIsTTY: tty })).toBe(format);
  });
});

describe('formatLogLine', () => {
  it('writes time, level, message and the fields the message does not already say', () => {
    const line = formatLogLine({ level: 40, time: AT, pid: 1, hostname: 'h', service: 'outpost', msg: 'agent demo-01 exited', device: 'demo-01', code: 1, signal: null });
    expect(line).toBe('14:02:07 WARN  agent demo-01 exited code=1 signal=null');
  });

  it('shows an error by its code and message, quotes values with spaces and cuts long ones', () => {
    const line = formatLogLine({ level: 50, time: AT, msg: 'failed', err: { type: 'Error', code: 'X_ERR', message: 'it broke', stack: 'Error: it broke\n at …' }, path: 'a b', blob: 'x'.repeat(200) });
    expect(line).toMatch(/^14:02:07 ERROR failed err="X_ERR: it broke" path="a b" blob=x{79}…$/);
  });
});

describe('createPrettyStream', () => {
  const json = (record: Record<string, unknown>): string => `${JSON.stringify({ time: AT, pid: 1, hostname: 'h', ...record })}\n`;

  it('shows records from its level up, as readable lines, never JSON', () => {
    const out = capture();
    const stream = createPrettyStream(out.stream, { minLevel: 30 });
    stream.write(json({ level: 20, msg: 'parts discovered' }));
    stream.write(json({ level: 30, msg: 'outpost ready' }));
    stream.write(json({ level: 40, msg: 'generated a new secret key file' }));
    expect(out.text()).toBe('14:02:07 INFO  outpost ready\n14:02:07 WARN  generated a new secret key file\n');
  });

  it('leaves per-request lines to the JSON log unless they are warnings or worse', () => {
    const out = capture();
    const stream = createPrettyStream(out.stream, { minLevel: 30 });
    stream.write(json({ level: 30, reqId: 'req-1', req: { method: 'GET', url: '/readyz' }, msg: 'incoming request' }));
    stream.write(json({ level: 30, reqId: 'req-1', res: { statusCode: 200 }, responseTime: 1.2, msg: 'request completed' }));
    stream.write(json({ level: 50, reqId: 'req-2', req: { method: 'POST', url: '/api/v1/rules' }, err: { message: 'boom' }, msg: 'request failed' }));
    expect(out.text().trim().split('\n')).toEqual([expect.stringMatching(/^14:02:07 ERROR request failed req=\{"method":"POST","url":"\/api\/v1\/rules"\} err=boom$/)]);
  });
});
