import { pino, type Logger, type DestinationStream } from 'pino';

/** Paths pino blanks out wherever they appear in a log object: secrets never reach a log. */
export const REDACT_PATHS = [
  'password',
  'token',
  'secret',
  'secretKey',
  'key',
  'privateKey',
  'cert',
  'certificate',
  'csr',
  'authorization',
  '*.password',
  '*.newPassword',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.secret',
  '*.secretKey',
  '*.key',
  '*.privateKey',
  '*.cert',
  '*.certificate',
  '*.csr',
  '*.caKey',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.query.access_token',
  'headers.authorization',
];

export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'outpost' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        req(req: { method?: string; url?: string; ip?: string }) {
          // Query strings may carry ?access_token=; log the path only.
          const url = typeof req.url === 'string' ? req.url.split('?')[0] : undefined;
          return { method: req.method, url, ip: req.ip };
        },
      },
    },
    options.destination,
  );
}
