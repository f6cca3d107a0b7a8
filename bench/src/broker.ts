/**
 * The Outpost broker against Debian's mosquitto, same load, same machine, same run (issue 4):
 *
 * - Throughput: `publishers` devices, each with its own certificate, publish
 *   `messages` TelemetryBatches (`samples` × `metrics`, valid for Outpost's checks) at QoS 1
 *   and QoS 0 with `window` messages in flight each. Accepted msg/s counts PUBACKs for QoS 1
 *   (Outpost acknowledges only once the batch is fsynced in its spool; mosquitto once it is
 *   in memory). For QoS 0, Outpost's batches durable in the spool (`outpost_ingest_spool_last_seq`
 *   from /metrics), and mosquitto's deliveries to one subscriber of `devices/+/telemetry` —
 *   Outpost's ACL lets no client subscribe to device data, so it has no subscriber and its
 *   "delivered" is "accepted and stored". Broker CPU per message is utime+stime of the
 *   broker process (/proc, every thread) over the run, divided by the accepted messages; for
 *   Outpost the run lasts until ingest and alerts have caught up with what it accepted (the
 *   store works in its own thread and would otherwise finish during the next broker's run).
 * - Idle: RSS of the broker process before and after `idle` idle mTLS sessions, per session; and what
 *   the second half of them added, per session (the first connects' fixed costs behind it).
 * - Reconnect storm: `storm` devices connect at once; time to the last CONNACK. Then a second
 *   storm offering the TLS session tickets of the first (resumption).
 *
 * Outpost runs as `outpost server` (registry + broker parts: mTLS, ACL, payload validation,
 * fleet metric types, spool with group-commit fsync) with OUTPOST_LIMIT_MSGS_PER_S=1000000
 * and OUTPOST_LIMIT_BYTES_PER_S=1 GiB so its per-device rate limits never throttle the bench,
 * and OUTPOST_LOG_LEVEL=warn (no line per connection); mosquitto with connection messages off,
 * `persistence false`, and with `persistence=1` a second throughput run with
 * `persistence true`. The clients run in this process: on a 2-core machine they compete with
 * the broker for CPU (their CPU is printed too).
 *
 * - The floor (`floor=1`, default): bare aedes over `node:tls` with client certificates required
 *   and nothing else (bare-aedes.ts), for throughput and idle sessions: what any broker on this
 *   stack spends before its own work.
 *
 * All brokers run for the whole bench; with `rounds=N` the throughput runs alternate between them
 * N times and the table shows the medians (this machine drifts by ±20 % within minutes).
 *
 *   npm run build && node bench/dist/src/broker.js [publishers=20] [messages=2000] [window=16]
 *     [samples=10] [metrics=5] [idle=1000] [storm=5000] [persistence=1] [floor=1] [rounds=1]
 *     [only=throughput,idle,storm] [drainMs=60000] [settleMs=2000] [cache=$TMPDIR/outpost-bench-broker]
 *
 * The first run at a size enrolls the devices it lacks into the cached platform (a minute
 * for 5,000; not measured); later runs reuse them.
 */
import { keyValueArgs, wholeNumber } from './args.js';
import { benchDevices, CACHE_DIR, startBareAedes, startMosquitto, startOutpost, type BrokerUnderTest, type DeviceIdentity } from './broker-fixtures.js';
import { idleRss, storm, throughput, type IdleResult, type StormResult, type ThroughputResult } from './broker-scenarios.js';
import { printResult } from './result-line.js';
import { median } from './stats.js';

const args = keyValueArgs(process.argv.slice(2));
const num = (key: string, fallback: number): number => wholeNumber(args, key, fallback);
const config = {
  publishers: num('publishers', 20),
  messages: num('messages', 2_000),
  window: num('window', 16),
  samples: num('samples', 10),
  metrics: num('metrics', 5),
  idle: num('idle', 1_000),
  storm: num('storm', 5_000),
  persistence: num('persistence', 1) === 1,
  floor: num('floor', 1) === 1,
  rounds: Math.max(1, num('rounds', 1)),
  drainTimeoutMs: num('drainMs', 60_000),
  settleMs: num('settleMs', 2_000),
  only: new Set((args['only'] ?? 'throughput,idle,storm').split(',')),
  cache: args['cache'] ?? CACHE_DIR,
};

interface Figures {
  /** One result per round (rounds alternate between the brokers). */
  q1: ThroughputResult[];
  q0: ThroughputResult[];
  idle?: IdleResult;
  storm?: StormResult;
  resumed?: StormResult;
}

const say = (line: string): void => console.log(line);

/** Idle sessions, on a broker that has served nothing yet: after throughput runs the garbage they leave is collected while the sessions connect, and the RSS difference goes negative (-14 kB per session in one run). */
async function idlePhase(broker: BrokerUnderTest, devices: readonly DeviceIdentity[], figures: Figures): Promise<void> {
  figures.idle = await idleRss(broker, devices.slice(0, config.idle), { concurrency: 50, settleMs: config.settleMs });
  const idle = figures.idle;
  say(
    `  ${broker.name} idle: ${String(idle.connections)} sessions, RSS ${mb(idle.rssBefore)} → ${mb(idle.rssHalf)} → ${mb(idle.rssAfter)} MB = ${(idle.bytesPerConnection / 1024).toFixed(1)} kB per session; the second half alone ${(idle.marginalBytesPerConnection / 1024).toFixed(1)} kB per session`,
  );
}

async function throughputPhase(broker: BrokerUnderTest, devices: readonly DeviceIdentity[], subscriber: DeviceIdentity | undefined, figures: Figures): Promise<void> {
  const publishers = devices.slice(0, config.publishers);
  for (const qos of [1, 0] as const) {
    const result = await throughput(broker, publishers, subscriber, { qos, messagesPerPublisher: config.messages, window: config.window, samples: config.samples, metrics: config.metrics, drainTimeoutMs: config.drainTimeoutMs });
    (qos === 1 ? figures.q1 : figures.q0).push(result);
    say(
      `  ${broker.name} QoS ${String(qos)}: ${String(result.accepted)}/${String(result.sent)} accepted (${result.acceptedBy}) in ${result.acceptSeconds.toFixed(2)} s = ${rate(result).toFixed(0)} msg/s; broker CPU ${result.brokerCpuSeconds.toFixed(2)} s = ${cpuPerMsg(result).toFixed(1)} µs/msg; client CPU ${result.clientCpuSeconds.toFixed(2)} s` +
        (result.stored === undefined ? '' : `; stored in the spool: ${String(result.stored)}`) +
        (result.caughtUpSeconds === undefined ? '' : `; ingest and alerts caught up at ${result.caughtUpSeconds.toFixed(2)} s`) +
        (result.delivered === undefined ? '' : `; subscriber got ${String(result.delivered)}${result.deliverSeconds === undefined ? '' : ` by ${result.deliverSeconds.toFixed(2)} s`}`),
    );
  }
}

async function stormPhase(broker: BrokerUnderTest, devices: readonly DeviceIdentity[], figures: Figures): Promise<void> {
  const sessions = new Map<string, Buffer>();
  const stormDevices = devices.slice(0, config.storm);
  figures.storm = await storm(broker, stormDevices, { collect: sessions });
  say(`  ${broker.name} storm: ${stormLine(figures.storm)} (${String(sessions.size)} session tickets kept)`);
  await new Promise((r) => setTimeout(r, config.settleMs));
  figures.resumed = await storm(broker, stormDevices, { sessions });
  say(`  ${broker.name} storm with TLS resumption: ${stormLine(figures.resumed)}`);
}

const rate = (r: ThroughputResult): number => r.accepted / r.acceptSeconds;
const cpuPerMsg = (r: ThroughputResult): number => (r.brokerCpuSeconds * 1e6) / Math.max(1, r.accepted);
const mb = (bytes: number): string => (bytes / 1_048_576).toFixed(1);
const stormLine = (s: StormResult): string =>
  `${String(s.connected)}/${String(s.devices)} CONNACKs in ${s.seconds.toFixed(2)} s (p50 ${s.p50Ms.toFixed(0)} ms, p99 ${s.p99Ms.toFixed(0)} ms), ${String(s.failed)} failed, ${String(s.resumed)} resumed TLS sessions, broker CPU ${s.brokerCpuSeconds.toFixed(2)} s`;

const need = Math.max(config.only.has('throughput') ? config.publishers : 0, config.only.has('idle') ? config.idle : 0, config.only.has('storm') ? config.storm : 0);
say(
  `broker benchmark: ${JSON.stringify({ ...config, only: [...config.only] })}; Node ${process.version}; ${String((await import('node:os')).cpus().length)} CPUs (clients share them with the broker)`,
);

const figuresOf = (): Figures => ({ q1: [], q0: [] });
const outpostFigures = figuresOf();
const mosquittoFigures = figuresOf();
const persistentFigures = figuresOf();
const floorFigures = figuresOf();
const running = config.only.has('throughput') && config.publishers > 0;
const idling = config.only.has('idle') && config.idle > 0;
const storming = config.only.has('storm') && config.storm > 0;

// Every broker runs for the whole bench (an idle broker costs no CPU), so the throughput rounds
// can alternate between them: this machine drifts by ±20 % within minutes, and a ratio of two runs
// minutes apart says more about the drift than about the brokers.
const stops: (() => Promise<void>)[] = [];
try {
  const outpost = await startOutpost({ cacheDir: config.cache, env: { OUTPOST_LIMIT_MSGS_PER_S: '1000000', OUTPOST_LIMIT_BYTES_PER_S: '1 GiB', OUTPOST_LOG_LEVEL: 'warn' } });
  stops.push(() => outpost.stop());
  const { devices, subscriber } = await benchDevices(outpost, need, (line) => process.stdout.write(line.endsWith(' ') ? line : `${line}\n`));
  const mosquitto = await startMosquitto({ cacheDir: config.cache, clientCaPem: outpost.chainPem, persistence: false });
  stops.push(() => mosquitto.stop());
  const persistent = config.persistence && running ? await startMosquitto({ cacheDir: config.cache, clientCaPem: outpost.chainPem, persistence: true }) : undefined;
  if (persistent !== undefined) stops.push(() => persistent.stop());
  // The stack's floor: aedes over node:tls and nothing else (throughput and idle sessions only).
  const bare = config.floor && (running || idling) ? await startBareAedes({ cacheDir: config.cache, clientCaPem: outpost.chainPem }) : undefined;
  if (bare !== undefined) stops.push(() => bare.stop());
  say(`Outpost: pid ${String(outpost.pid)}, ${outpost.url}`);
  say(`mosquitto, persistence false: pid ${String(mosquitto.pid)}, ${mosquitto.url}`);
  if (persistent !== undefined) say(`mosquitto, persistence true: pid ${String(persistent.pid)}, ${persistent.url}`);
  if (bare !== undefined) say(`bare aedes over node:tls, the floor of Outpost's stack: pid ${String(bare.pid)}, ${bare.url}`);

  if (idling) {
    await idlePhase(outpost, devices, outpostFigures);
    await idlePhase(mosquitto, devices, mosquittoFigures);
    if (bare !== undefined) await idlePhase(bare, devices, floorFigures);
  }
  if (running) {
    for (let round = 1; round <= config.rounds; round += 1) {
      if (config.rounds > 1) say(`round ${String(round)} of ${String(config.rounds)}:`);
      await throughputPhase(outpost, devices, undefined, outpostFigures);
      await throughputPhase(mosquitto, devices, subscriber, mosquittoFigures);
      if (persistent !== undefined) await throughputPhase(persistent, devices, subscriber, persistentFigures);
      if (bare !== undefined) await throughputPhase(bare, devices, subscriber, floorFigures);
    }
  }
  if (storming) {
    await stormPhase(outpost, devices, outpostFigures);
    await stormPhase(mosquitto, devices, mosquittoFigures);
  }
  const refused = await outpost.metric('outpost_mqtt_validation_failures_total');
  if (refused > 0) say(`  warning: Outpost refused ${String(refused)} payloads (validation)`);
  const limited = await outpost.metric('outpost_mqtt_rate_limited_total');
  if (limited > 0) say(`  warning: Outpost rate-limited ${String(limited)} publishes`);
} finally {
  for (const stop of stops.reverse()) await stop().catch((error: unknown) => say(`  warning: stopping a broker failed: ${String(error)}`));
}

// ---------------------------------------------------------------- the table
const rows: [string, number | undefined, number | undefined, 'higher' | 'lower', string][] = [];
const add = (label: string, ours: number | undefined, theirs: number | undefined, better: 'higher' | 'lower', unit: string): void => {
  rows.push([label, ours, theirs, better, unit]);
};
/** The median over the rounds (the figure of each round read by `read`); undefined when the broker ran none. */
const t = (f: Figures, key: 'q1' | 'q0', read: (r: ThroughputResult) => number): number | undefined => (f[key].length === 0 ? undefined : median(f[key].map(read)));
add('QoS 1 accepted msg/s (PUBACKs)', t(outpostFigures, 'q1', rate), t(mosquittoFigures, 'q1', rate), 'higher', 'msg/s');
add('QoS 1 broker CPU per message', t(outpostFigures, 'q1', cpuPerMsg), t(mosquittoFigures, 'q1', cpuPerMsg), 'lower', 'µs');
add('QoS 0 accepted msg/s (Outpost: spool; mosquitto: subscriber)', t(outpostFigures, 'q0', rate), t(mosquittoFigures, 'q0', rate), 'higher', 'msg/s');
add('QoS 0 broker CPU per message', t(outpostFigures, 'q0', cpuPerMsg), t(mosquittoFigures, 'q0', cpuPerMsg), 'lower', 'µs');
if (persistentFigures.q1.length > 0) {
  add('QoS 1 msg/s vs mosquitto persistence true', t(outpostFigures, 'q1', rate), t(persistentFigures, 'q1', rate), 'higher', 'msg/s');
  add('QoS 1 CPU/msg vs mosquitto persistence true', t(outpostFigures, 'q1', cpuPerMsg), t(persistentFigures, 'q1', cpuPerMsg), 'lower', 'µs');
}
add('RSS per idle mTLS session', outpostFigures.idle === undefined ? undefined : outpostFigures.idle.bytesPerConnection / 1024, mosquittoFigures.idle === undefined ? undefined : mosquittoFigures.idle.bytesPerConnection / 1024, 'lower', 'kB');
add(
  'RSS per idle mTLS session, second half only',
  outpostFigures.idle === undefined ? undefined : outpostFigures.idle.marginalBytesPerConnection / 1024,
  mosquittoFigures.idle === undefined ? undefined : mosquittoFigures.idle.marginalBytesPerConnection / 1024,
  'lower',
  'kB',
);
add('reconnect storm, full handshakes', outpostFigures.storm?.seconds, mosquittoFigures.storm?.seconds, 'lower', 's');
add('reconnect storm, TLS resumption', outpostFigures.resumed?.seconds, mosquittoFigures.resumed?.seconds, 'lower', 's');
add('storm broker CPU, full handshakes', outpostFigures.storm?.brokerCpuSeconds, mosquittoFigures.storm?.brokerCpuSeconds, 'lower', 's');
add('storm broker CPU, TLS resumption', outpostFigures.resumed?.brokerCpuSeconds, mosquittoFigures.resumed?.brokerCpuSeconds, 'lower', 's');

const fmt = (v: number | undefined): string => (v === undefined ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(2));
const width = Math.max(...rows.map((r) => r[0].length));
say('');
say(`${'figure'.padEnd(width)} | ${'Outpost'.padStart(10)} | ${'mosquitto'.padStart(10)} | Outpost/mosquitto`);
say(`${'-'.repeat(width)}-|-${'-'.repeat(10)}-|-${'-'.repeat(10)}-|------------------`);
for (const [label, ours, theirs, better, unit] of rows) {
  const ratio = ours === undefined || theirs === undefined || theirs === 0 ? '—' : `${(ours / theirs).toFixed(2)}× (${better} is better)`;
  say(`${label.padEnd(width)} | ${`${fmt(ours)} ${unit}`.padStart(10)} | ${`${fmt(theirs)} ${unit}`.padStart(10)} | ${ratio}`);
}
if (config.rounds > 1 && outpostFigures.q1.length > 0 && mosquittoFigures.q1.length === outpostFigures.q1.length) {
  const ratios = outpostFigures.q1.map((ours, i) => rate(ours) / rate(mosquittoFigures.q1[i] as ThroughputResult));
  say('');
  say(`QoS 1 Outpost/mosquitto msg/s by round: ${ratios.map((r) => `${r.toFixed(2)}×`).join(', ')} (median ${median(ratios).toFixed(2)}×); the table shows medians over the rounds`);
}
if (floorFigures.q1.length > 0 || floorFigures.idle !== undefined) {
  say('');
  say('the floor (bare aedes + node:tls, nothing of Outpost\'s own work), same run:');
  const ownQ1 = t(outpostFigures, 'q1', cpuPerMsg);
  const floorQ1 = t(floorFigures, 'q1', cpuPerMsg);
  const floorRate = t(floorFigures, 'q1', rate);
  if (ownQ1 !== undefined && floorQ1 !== undefined && floorRate !== undefined) {
    say(`  QoS 1: ${floorRate.toFixed(0)} msg/s (mosquitto ×${(floorRate / (t(mosquittoFigures, 'q1', rate) ?? Number.NaN)).toFixed(2)}), ${floorQ1.toFixed(1)} µs broker CPU per message; Outpost's own work on top: ${(ownQ1 - floorQ1).toFixed(1)} µs`);
  }
  const floorQ0 = t(floorFigures, 'q0', rate);
  if (floorQ0 !== undefined) say(`  QoS 0: ${floorQ0.toFixed(0)} msg/s to a subscriber, ${(t(floorFigures, 'q0', cpuPerMsg) ?? Number.NaN).toFixed(1)} µs per message`);
  if (floorFigures.idle !== undefined) {
    const floorIdle = floorFigures.idle;
    const ownIdle = outpostFigures.idle;
    say(
      `  RSS per idle mTLS session: ${(floorIdle.bytesPerConnection / 1024).toFixed(1)} kB, the second half alone ${(floorIdle.marginalBytesPerConnection / 1024).toFixed(1)} kB` +
        (ownIdle === undefined ? '' : `; Outpost's own on top of the second half: ${((ownIdle.marginalBytesPerConnection - floorIdle.marginalBytesPerConnection) / 1024).toFixed(1)} kB`),
    );
  }
}
say('');
say('goals (issue 12): QoS 1 ≥ 0.6× mosquitto msg/s with validation, spool, ingest and alerts on; ≤ 40 µs broker CPU per QoS 1 message; ≤ 30 kB per idle mTLS session.');
const floorRows: { name: string; value: number | undefined; unit: string; better: 'higher' | 'lower' }[] = [
  { name: 'floor: bare aedes QoS 1 accepted msg/s', value: t(floorFigures, 'q1', rate), unit: 'msg/s', better: 'higher' },
  { name: 'floor: bare aedes QoS 1 broker CPU per message', value: t(floorFigures, 'q1', cpuPerMsg), unit: 'µs', better: 'lower' },
  { name: 'floor: bare aedes RSS per idle mTLS session', value: floorFigures.idle === undefined ? undefined : floorFigures.idle.bytesPerConnection / 1024, unit: 'kB', better: 'lower' },
  { name: 'floor: bare aedes RSS per idle mTLS session, second half only', value: floorFigures.idle === undefined ? undefined : floorFigures.idle.marginalBytesPerConnection / 1024, unit: 'kB', better: 'lower' },
];
printResult({
  bench: 'broker',
  figures: [
    ...rows.map(([label, ours, theirs, better, unit]) => ({
      name: label,
      value: ours ?? null,
      unit,
      better,
      anchor: label.includes('persistence true') ? 'mosquitto (persistence true)' : 'mosquitto',
      anchorValue: theirs ?? null,
      ...(label.startsWith('QoS 1 accepted') || label.startsWith('QoS 1 msg/s') ? { goal: '≥ 0.6× mosquitto' } : label === 'QoS 1 broker CPU per message' ? { goal: '≤ 40 µs' } : label === 'RSS per idle mTLS session' ? { goal: '≤ 30 kB' } : {}),
    })),
    ...floorRows.filter((row) => row.value !== undefined).map((row) => ({ ...row, value: row.value ?? null })),
  ],
});
