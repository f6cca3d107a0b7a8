/**
 * DesiredConfig (`devices/{id}/config/desired`, retained) and agent.json (AgentConfig), which
 * share collectors, processing, rules and reconnect. An operator's DesiredConfig wins over the
 * local file.
 */
import Type from 'typebox';
import type { Static } from 'typebox';
import { Collector } from './collector.js';
import { Count, DurationMs, Name, V1 } from './common.js';
import { Limits } from './limits.js';
import { Rule } from './rule.js';

export const ProcessingWindowFn = Type.Enum(['mean', 'min', 'max', 'last']);
export type ProcessingWindowFn = Static<typeof ProcessingWindowFn>;

export const Processing = Type.Object(
  {
    /** Per metric: send a value only when it moved by at least this much since the last sent one. */
    deadband: Type.Optional(
      Type.Record(Name, Type.Number({ minimum: 0 }), { additionalProperties: false, maxProperties: 100 }),
    ),
    /** Aggregate each metric over tumbling windows of `ms` before sending. */
    window: Type.Optional(Type.Object({ ms: DurationMs, fn: ProcessingWindowFn }, { additionalProperties: false })),
    /** Send a batch when it holds `maxSamples` samples or its oldest is `maxAgeMs` old. */
    batch: Type.Optional(
      Type.Object(
        { maxSamples: Type.Integer({ minimum: 1, maximum: 100_000 }), maxAgeMs: DurationMs },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type Processing = Static<typeof Processing>;

/** Reconnect backoff bounds; minMs ≤ maxMs. */
export const Reconnect = Type.Object({ minMs: DurationMs, maxMs: DurationMs }, { additionalProperties: false });
export type Reconnect = Static<typeof Reconnect>;

const Collectors = Type.Array(Collector, { maxItems: 64 });
const Rules = Type.Array(Rule, { maxItems: 256 });

export const DesiredConfig = Type.Object(
  {
    v: V1,
    version: Count,
    collectors: Collectors,
    processing: Type.Optional(Processing),
    rules: Type.Optional(Rules),
    reconnect: Type.Optional(Reconnect),
    limits: Limits,
  },
  { additionalProperties: false },
);
export type DesiredConfig = Static<typeof DesiredConfig>;

/**
 * agent.json, the agent's local configuration file. `v` is optional so a hand-written file
 * may omit it; a later format will require its own `v`.
 */
export const AgentConfig = Type.Object(
  {
    v: Type.Optional(V1),
    collectors: Collectors,
    processing: Type.Optional(Processing),
    rules: Type.Optional(Rules),
    reconnect: Type.Optional(Reconnect),
    /**
     * Programs (absolute paths) that a `command` collector arriving in a DesiredConfig may run;
     * default none, so a remote config with a command collector is refused. Local only: written
     * by the device owner (install), never carried or changed by a DesiredConfig. Command
     * collectors in this file itself are not limited by it.
     */
    allowCommands: Type.Optional(Type.Array(Type.String({ pattern: '^/', minLength: 2, maxLength: 4096 }), { maxItems: 256 })),
    /** The outbox (local only): `maxBytes` bounds its segment files (default 64 MiB; the oldest batches go first, counted); `dropWarnIntervalMs` spaces the warnings after the first drop (default 60 s). */
    outbox: Type.Optional(
      Type.Object(
        { maxBytes: Type.Optional(Type.Integer({ minimum: 4096, maximum: Number.MAX_SAFE_INTEGER })), dropWarnIntervalMs: Type.Optional(DurationMs) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type AgentConfig = Static<typeof AgentConfig>;
