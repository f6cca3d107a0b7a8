/**
 * Collector: what the agent samples and how often. A union discriminated by `type`.
 * `system` and `w1` read the host (w1: 1-Wire temperature sensors under sysfs), `command`
 * runs a program and parses its output, `simulated` generates deterministic waves for demos
 * and tests.
 */
import Type from 'typebox';
import type { Static } from 'typebox';
import { CommandLine, DurationMs, Name } from './common.js';

export const SystemCollector = Type.Object(
  { type: Type.Literal('system'), intervalMs: DurationMs },
  { additionalProperties: false },
);
export type SystemCollector = Static<typeof SystemCollector>;

export const W1Collector = Type.Object(
  {
    type: Type.Literal('w1'),
    intervalMs: DurationMs,
    /** The sysfs directory of 1-Wire devices; default `/sys/bus/w1/devices`. */
    path: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    /** Sensor ids to read (e.g. `28-000005e2fdc3`); default every sensor found. */
    sensors: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', maxLength: 64 }), { maxItems: 64 }),
    ),
  },
  { additionalProperties: false },
);
export type W1Collector = Static<typeof W1Collector>;

export const CommandCollector = Type.Object(
  {
    type: Type.Literal('command'),
    intervalMs: DurationMs,
    cmd: CommandLine,
    args: Type.Optional(Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 64 })),
    timeoutMs: DurationMs,
    /** `kv`: one `name=value` per line; `json`: one JSON object of metrics. */
    format: Type.Enum(['kv', 'json']),
  },
  { additionalProperties: false },
);
export type CommandCollector = Static<typeof CommandCollector>;

export const SimulatedMetric = Type.Object(
  {
    base: Type.Number(),
    amplitude: Type.Optional(Type.Number()),
    periodS: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 31_622_400 })),
    noise: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type SimulatedMetric = Static<typeof SimulatedMetric>;

export const SimulatedCollector = Type.Object(
  {
    type: Type.Literal('simulated'),
    intervalMs: DurationMs,
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 4_294_967_295 })),
    metrics: Type.Record(Name, SimulatedMetric, { additionalProperties: false, minProperties: 1, maxProperties: 100 }),
  },
  { additionalProperties: false },
);
export type SimulatedCollector = Static<typeof SimulatedCollector>;

export const Collector = Type.Union([SystemCollector, W1Collector, CommandCollector, SimulatedCollector]);
export type Collector = Static<typeof Collector>;

