import type { FlagSpec } from './command.js';

/** The roles of the platform (admin > operator > viewer); the server stays the authority. */
export const ROLE_NAMES = ['admin', 'operator', 'viewer'] as const;

/** Flags of every command that calls the REST API. */
export const apiFlags = {
  server: {
    type: 'string',
    valueName: 'URL',
    description: 'platform URL',
    default: "env OUTPOST_SERVER, else the one saved by 'outpost login', else http://127.0.0.1:8080",
  },
  token: {
    type: 'string',
    description: 'bearer token: a session or API token',
    default: 'env OUTPOST_TOKEN, else the saved login',
  },
} as const satisfies Record<string, FlagSpec>;

export const jsonFlag = {
  json: { type: 'boolean', description: 'print the raw JSON answer instead of text' },
} as const satisfies Record<string, FlagSpec>;

/** Flags of every list command. */
export const listFlags = {
  ...jsonFlag,
  all: { type: 'boolean', description: 'fetch every page, following nextCursor (without it: the first page only)' },
} as const satisfies Record<string, FlagSpec>;

/** Flag of the commands that run the platform (`server`, `demo`); overrides OUTPOST_LOG_FORMAT. */
export const logFormatFlag = {
  'log-format': {
    type: 'string',
    valueName: 'FORMAT',
    choices: ['auto', 'pretty', 'json'],
    description: 'pretty: readable lines here, the JSON log in DATA_DIR/logs/outpost.log; json: JSON lines here',
    default: 'env OUTPOST_LOG_FORMAT, else auto (pretty on a terminal)',
  },
} as const satisfies Record<string, FlagSpec>;
