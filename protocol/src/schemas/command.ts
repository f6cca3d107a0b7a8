/** Command (`devices/{id}/commands`) and CommandResult (`devices/{id}/commands/result`). */
import Type from 'typebox';
import type { Static } from 'typebox';
import { EpochMs, ErrorInfo, Id, Name, V1 } from './common.js';

/** Largest CommandResult output, in characters (SPEC: 64 KiB). */
export const MAX_COMMAND_OUTPUT = 65_536;

/** Command arguments: flat `name → scalar` (the CLI's `--arg k=v`). */
export const CommandArgs = Type.Record(
  Name,
  Type.Union([Type.String({ maxLength: 4096 }), Type.Number(), Type.Boolean()]),
  { additionalProperties: false, maxProperties: 64 },
);
export type CommandArgs = Static<typeof CommandArgs>;

export const Command = Type.Object(
  {
    v: V1,
    id: Id,
    name: Name,
    args: CommandArgs,
    /** The device ignores the command after this instant. */
    expiresAt: EpochMs,
  },
  { additionalProperties: false },
);
export type Command = Static<typeof Command>;

export const CommandResult = Type.Object(
  {
    v: V1,
    id: Id,
    ok: Type.Boolean(),
    output: Type.Optional(Type.String({ maxLength: MAX_COMMAND_OUTPUT })),
    error: Type.Optional(ErrorInfo),
    at: EpochMs,
  },
  { additionalProperties: false },
);
export type CommandResult = Static<typeof CommandResult>;
