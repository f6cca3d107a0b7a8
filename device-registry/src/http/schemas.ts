import { Type } from 'typebox';

/** The registry's own route schemas; the error body, timestamps, pages and cursors every part shares are in @outpost/kernel. */

/** Tag and metadata maps: names as metric names, values printable text. */
export const TagMap = Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$' }), Type.String({ maxLength: 128, pattern: '^[^\\u0000-\\u001f\\u007f]*$' }), {
  maxProperties: 64,
});
export const MetadataMap = Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$' }), Type.String({ maxLength: 1024 }), { maxProperties: 64 });

export const GroupNameSchema = Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$', maxLength: 64, description: 'group name' });
export const DeviceIdSchema = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{2,63}$', maxLength: 64, description: 'device id (certificate CN)' });

/**
 * Command arguments: name → string, number or boolean. The value schema is left open on
 * purpose: with the listeners' `coerceTypes`, a union would turn 5 into "5" (its first branch)
 * and a type list trips ajv's strict mode; the service checks the whole Command with protocol.
 */
export const CommandArgsSchema = Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$' }), Type.Unknown({ description: 'a string, number or boolean' }), {
  maxProperties: 64,
});
