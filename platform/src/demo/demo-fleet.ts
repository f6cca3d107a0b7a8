/**
 * What the demo fleet is: device ids, each agent's agent.json (a simulated cold room) and the
 * demo alert rules. Pure data, so the command and its test agree on it.
 */

/** The demo devices' group; the demo rules are scoped to it. */
export const DEMO_GROUP = 'demo';

/** The one device that runs warm, so the demo rule fires within a minute or two. */
export const WARM_DEVICE_INDEX = 0;

/** `demo-01`, `demo-02`, … (valid device ids: `^[a-z0-9][a-z0-9-]{2,63}$`). */
export function demoDeviceIds(count: number): string[] {
  const width = Math.max(2, String(count).length);
  return Array.from({ length: count }, (_, i) => `demo-${String(i + 1).padStart(width, '0')}`);
}

/** A day: the simulated cold rooms follow the day's warmth (the sine is aligned to UTC time). */
const DAY_S = 86_400;

/**
 * agent.json of the demo device at `index`: a cold room at 3–5 °C (each room its own set
 * point) swinging ± 1.5 °C over the day, with noise, and its humidity (85 % ± 5 over the day).
 * The warm device is the one drifting into an alert: its compressor struggles, so it sits at
 * 7.5 °C and swings ± 3 every 2 minutes, above 8 °C for ~45 % of each swing (so
 * `cold-room-warm` fires after 30 s there, and clears below 7). The `simulated` collector is a
 * sine plus noise: it has no trend term, so the drift is this fast swing over the threshold.
 * Booleans (a door contact) are not something it can produce either: it makes numbers only.
 */
export function demoAgentConfig(index: number, intervalMs: number): Record<string, unknown> {
  const warm = index === WARM_DEVICE_INDEX;
  const setPoint = 3 + (index % 5) * 0.5;
  return {
    collectors: [
      {
        type: 'simulated',
        intervalMs,
        seed: index + 1,
        metrics: {
          temperature: warm ? { base: 7.5, amplitude: 3, periodS: 120, noise: 0.3 } : { base: setPoint, amplitude: 1.5, periodS: DAY_S, noise: 0.3 },
          humidity: { base: 85, amplitude: 5, periodS: DAY_S, noise: 1 },
        },
      },
    ],
  };
}

/** The demo rules, created when absent (never overwritten: an operator may have edited them). */
export const DEMO_RULES: readonly Record<string, unknown>[] = [
  {
    id: 'cold-room-warm',
    name: 'Cold room too warm',
    kind: 'threshold',
    scope: { groups: [DEMO_GROUP] },
    metric: 'temperature',
    condition: '>',
    threshold: 8,
    clearThreshold: 7,
    forMs: 30_000,
    severity: 'warning',
    cooldownMs: 0,
    enabled: true,
  },
  {
    id: 'demo-device-silent',
    name: 'Demo device silent',
    kind: 'absence',
    scope: { groups: [DEMO_GROUP] },
    metric: 'temperature',
    absenceMs: 60_000,
    forMs: 0,
    severity: 'warning',
    cooldownMs: 0,
    enabled: true,
  },
];
