/**
 * The broker as a platform part (SPEC "Composition"): aedes behind a TLS listener that
 * requires a platform client certificate, with Outpost's hooks, live revocation from the
 * registry's events, the ingest spool behind every telemetry PUBACK, and the
 * `deviceChannel` / `deviceInbox` / `ingestSpool` / `telemetryRecords` / `mqttPublisher`
 * ports (the alerts part, composed after it, reads the spool through them).
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { requirePort, type Part, type PartDeps, type Readiness, type TlsCredentials, type DeviceChannel, type DeviceInbox, type IngestSpool, type MqttPublisher, type TelemetryRecordsPort } from '@outpost/kernel';
import { OutpostError, resolveLimits } from '@outpost/protocol';
import { IngestPipeline, openSpool, registerIngestMetrics, TelemetryRecords, type Spool } from '@outpost/telemetry';
import { defer, firstValueFrom, merge, type Subscription } from 'rxjs';
import { createAedesBroker, type AedesBroker } from './adapters/aedes-broker.js';
import { PromBrokerMetrics } from './adapters/prom-metrics.js';
import { spoolSink } from './adapters/spool-sink.js';
import { brokerMigrations, sqlMetricTypeStore } from './adapters/sql-metric-type-store.js';
import { guardPacketSizes, type PacketRefusal } from './adapters/packet-size-guard.js';
import { listenTls, peerCertificateOf, type TlsListener } from './adapters/tls-listener.js';
import { tlsRefusalReason } from './adapters/tls-refusal-reason.js';
import { resolveBrokerOptions, type BrokerPartOptions } from './broker-options.js';
import { PublishQuota } from './domain/publish-quota.js';
import { identityFields } from './domain/identity.js';
import { createSessionHooks, type SessionHooks } from './hooks/session-hooks.js';
import type { IngestSink } from './ports/ingest-sink.js';
import type { MqttOutbound } from './ports/mqtt-hooks.js';
import { IdentityChecker } from './services/identity-checker.js';
import { InboxRouter } from './services/inbox-router.js';
import { InstructionDelivery } from './services/instruction-delivery.js';
import { MetricTypeGuard } from './services/metric-type-guard.js';
import { RefusalLog } from './services/refusal-log.js';
import { SessionRegistry } from './services/session-registry.js';
import { CancellableWaits } from './services/cancellable-waits.js';
import { clusterSessions, type ClusterSessions } from './cluster/cluster-session-hooks.js';
import type { RedisAedesBackends } from './cluster/redis-aedes.js';
import { localFirstOutbound } from './cluster/local-first-outbound.js';

export const PART_NAME = 'broker';

/** The broker part; `mqttUrl()` is the bound listener (`mqtts://host:port`) once started. */
export interface BrokerPart extends Part {
  mqttUrl(): string | undefined;
  readonly provides: {
    readonly deviceChannel: DeviceChannel;
    readonly deviceInbox: DeviceInbox;
    readonly ingestSpool: IngestSpool;
    readonly telemetryRecords: TelemetryRecordsPort;
    readonly mqttPublisher: MqttPublisher;
  };
}

/** The TLS socket of a connection aedes handles (the packet size guard leaves it a TLSSocket). */
function socketOf(connection: Duplex): TLSSocket {
  return connection as TLSSocket;
}

export function createBrokerPart(partOptions: BrokerPartOptions = {}): (deps: PartDeps) => BrokerPart {
  return (deps) => {
    const { config, log: rootLog } = deps;
    const given = Object.fromEntries(Object.entries(partOptions).filter(([, value]) => value !== undefined)) as BrokerPartOptions;
    const options = resolveBrokerOptions({
      connectTimeoutMs: config.mqtt.connectTimeoutMs,
      handshakeTimeoutMs: config.mqtt.handshakeTimeoutMs,
      maxPendingHandshakes: config.mqtt.maxHandshakes,
      maxPendingHandshakesPerIp: config.mqtt.maxHandshakesPerIp,
      maxPacketBytes: config.mqtt.maxPacketBytes,
      ...given,
    });
    const log = rootLog.child({ part: PART_NAME });
    const registry = requirePort(deps.ports, 'registry', PART_NAME);
    const tls = requirePort(deps.ports, 'tls', PART_NAME);
    // Cluster mode (issue 15, ADR 0010): composed after the cluster part; absent in one process.
    const cluster = deps.ports.cluster;
    let clustered: ClusterSessions | undefined;
    let redisBackends: RedisAedesBackends | undefined;
    const now = (): number => deps.clock.now();
    const limits = resolveLimits(config.limits);
    const sessions = new SessionRegistry();
    let sink: IngestSink | undefined;
    let spool: Spool | undefined;
    let listener: TlsListener | undefined;
    const metrics = new PromBrokerMetrics({ connections: () => sessions.counts(), pendingHandshakes: () => listener?.pendingHandshakes ?? 0, spool: () => spool?.stats() });
    const refusals = new RefusalLog(log, { intervalMs: options.refusalLogIntervalMs });
    const identities = new IdentityChecker(registry, now, { ttlMs: options.identityCacheTtlMs, maxEntries: options.identityCacheMaxEntries });
    const quota = new PublishQuota(limits, options.maxWithholdMs);
    const waits = new CancellableWaits();
    const metricTypes = new MetricTypeGuard(sqlMetricTypeStore(deps.db), now);
    let broker: AedesBroker | undefined;
    const running = (): AedesBroker => {
      if (broker === undefined) throw new OutpostError('BROKER_UNAVAILABLE', 'the MQTT broker is not running');
      return broker;
    };
    const localOutbound: MqttOutbound = {
      publish(message) {
        if (broker === undefined) return Promise.reject(new OutpostError('BROKER_UNAVAILABLE', 'the MQTT broker is not running'));
        return broker.publish(message);
      },
    };
    // Cluster mode (issue 15): commands for a device held here skip the Redis emitter.
    const outbound: MqttOutbound = cluster === undefined ? localOutbound : localFirstOutbound({ publish: (message) => localOutbound.publish(message), publishToClient: async (clientId, message) => running().publishToClient(clientId, message) });
    const delivery = new InstructionDelivery({ registry, outbound, sessions, now, log });
    const sinkProxy: IngestSink = {
      append: (deviceId, raw, batch) => (sink === undefined ? Promise.reject(new OutpostError('BROKER_UNAVAILABLE', 'the ingest spool is not open')) : sink.append(deviceId, raw, batch)),
      close: async () => undefined,
    };
    const inbox = new InboxRouter({ registry, sink: sinkProxy, live: deps.live, metrics, log, elapsedMs: () => performance.now(), seenIntervalMs: options.seenIntervalMs });
    let hooks: SessionHooks | undefined;
    let sweep: NodeJS.Timeout | undefined;
    const subscriptions: Subscription[] = [];
    let state: Readiness = 'down';
    let ingest: IngestPipeline | undefined;
    let observeIngest: ((pipeline: IngestPipeline) => void) | undefined;

    const openedSpool = (): Spool => {
      if (spool === undefined) throw new OutpostError('BROKER_UNAVAILABLE', 'the ingest spool is not open: the broker has not started');
      return spool;
    };
    const ingestSpool: IngestSpool = {
      read: (consumer, readOptions) => defer(() => openedSpool().read(consumer, readOptions)),
      readBatches: (consumer, readOptions) => defer(() => openedSpool().readBatches(consumer, readOptions)),
      commit: async (consumer, seq) => openedSpool().commit(consumer, seq),
      committed: (consumer) => openedSpool().committed(consumer),
      stats: () => openedSpool().stats(),
    };
    // Decode once: the hook's validated batches, handed typed to the spool's consumers — ingest
    // here, and the alerts part (spool consumer `alerts`, composed after the broker) through the
    // `telemetryRecords` port. A store in its own thread decodes what ingest hands it there
    // (`writeEntries`), so ingest takes nothing from memory then.
    const ingestTakes = deps.telemetry !== undefined && deps.telemetry.writeEntries === undefined;
    const records = new TelemetryRecords({ consumers: (ingestTakes ? 1 : 0) + (options.spoolConsumers.includes('alerts') ? 1 : 0) });
    const openSink = async (): Promise<IngestSink> => {
      if (options.sink !== undefined) return options.sink;
      spool = await openSpool({ dir: join(config.dataDir, 'spool'), consumers: options.spoolConsumers, maxBytes: config.spoolMaxBytes }, { clock: deps.clock, log });
      return spoolSink(spool, now, records);
    };

    const refusePacket = (socket: TLSSocket, refusal: PacketRefusal): void => {
      metrics.packetRefused(refusal.code);
      const peer = peerCertificateOf(socket);
      log.warn(
        { remoteAddress: socket.remoteAddress, cn: peer?.subject['CN'], serial: peer?.serialNumber, code: refusal.code, declaredBytes: refusal.declaredBytes, limit: options.maxPacketBytes },
        `mqtt connection dropped: ${refusal.message}`,
      );
    };

    const useCredentials = (credentials: TlsCredentials): void => {
      if (listener === undefined) return;
      listener.useCredentials(credentials);
      log.info('mqtt listener: TLS credentials replaced (new handshakes use them)');
    };

    return {
      name: PART_NAME,
      provides: { deviceChannel: delivery, deviceInbox: inbox.inbox, ingestSpool, telemetryRecords: records, mqttPublisher: outbound },
      mqttUrl: () => listener?.url,

      metrics(promRegistry) {
        metrics.register(promRegistry);
        observeIngest = registerIngestMetrics(promRegistry, { pipeline: () => ingest, store: () => deps.telemetry, spool: () => (spool === undefined ? undefined : ingestSpool), now });
      },

      async start() {
        await deps.migrate(PART_NAME, brokerMigrations);
        const knownMetrics = await metricTypes.load();
        sink = await openSink();
        subscriptions.push(
          (cluster === undefined ? registry.events : merge(registry.events, cluster.remoteRegistryEvents)).subscribe((event) => {
            identities.observe(event);
            for (const dropped of sessions.apply(event)) log.info({ ...identityFields(dropped.session.identity), event: event.type, serial: event.serial, code: dropped.code }, `mqtt session closed: ${dropped.reason}`);
            delivery.onRegistryEvent(event);
          }),
        );
        hooks = createSessionHooks({ registry, identities, sessions, delivery, inbox, quota, limits, outbound, live: deps.live, metrics, log, now, metricTypes, wait: (ms) => waits.wait(ms) });
        if (config.redisUrl !== undefined) redisBackends = (await import('./cluster/redis-aedes.js')).redisAedesBackends(config.redisUrl);
        if (cluster !== undefined) {
          const backends = redisBackends;
          clustered = clusterSessions({ bus: cluster, sessions, delivery, log, ...(backends === undefined ? {} : { backendsReady: () => backends.ready() }) });
          hooks = clustered.wrap(hooks);
        }
        broker = await createAedesBroker(hooks, {
          ...(redisBackends === undefined ? {} : { mq: redisBackends.mq, persistence: redisBackends.persistence }),
          connectTimeoutMs: options.connectTimeoutMs,
          peerOf: (connection) => peerCertificateOf(socketOf(connection)),
          remoteAddressOf: (connection) => socketOf(connection).remoteAddress,
          now,
        });
        // A control node (ADR 0011) keeps aedes for publishing to devices through the cluster's
        // emitter but takes no device connections: HAProxy sends them to broker nodes.
        if (config.role !== 'control') {
          const credentials = tls.current() ?? (await firstValueFrom(tls.changes));
          const aedes = broker;
          listener = await listenTls({
            host: config.mqtt.host,
            port: config.mqtt.port,
            credentials,
            handshakeTimeoutMs: options.handshakeTimeoutMs,
            sessionTimeoutS: options.tlsSessionTimeoutS,
            ...(options.tlsTicketKeys === undefined ? {} : { ticketKeys: options.tlsTicketKeys }),
            maxPendingHandshakes: options.maxPendingHandshakes,
            maxPendingHandshakesPerIp: options.maxPendingHandshakesPerIp,
            onConnection: (socket) => aedes.handle(guardPacketSizes(socket, options.maxPacketBytes, (refusal) => refusePacket(socket, refusal))),
            onHandshakeError: (error, remoteAddress) => {
              const reason = tlsRefusalReason(error.code);
              metrics.authFailure(reason);
              refusals.note({ remoteAddress, reason, err: error.message }, 'mqtt TLS handshake refused');
            },
            onHandshakeRefused: (remoteAddress, scope) => {
              metrics.handshakeRefused(scope);
              const reason = scope === 'ip' ? 'TOO_MANY_HANDSHAKES_FROM_ADDRESS' : 'TOO_MANY_HANDSHAKES';
              const limit = scope === 'ip' ? `${options.maxPendingHandshakesPerIp} from one address` : `${options.maxPendingHandshakes} in all`;
              refusals.note({ remoteAddress, reason }, `mqtt connection refused on accept: more than ${limit} TLS handshakes pending`);
            },
          });
          subscriptions.push(tls.changes.subscribe(useCredentials));
          deps.ports.mqttListener?.bound({ port: listener.address.port });
        }
        if (deps.telemetry !== undefined && options.sink === undefined) {
          ingest = new IngestPipeline({ spool: ingestSpool, records, store: deps.telemetry, log, now, wait: (ms) => waits.wait(ms) }, options.ingest);
          observeIngest?.(ingest);
          ingest.start();
        } else {
          log.warn('no telemetry store: accepted telemetry stays in the spool (nothing ingests it)');
        }
        sweep = setInterval(() => quota.sweep(now()), options.quotaSweepMs);
        sweep.unref();
        state = 'ok';
        if (listener !== undefined) log.info({ mqttUrl: listener.url, spool: spool?.dir ?? null, knownMetrics }, `mqtt listener bound: ${listener.url}`);
        else log.info({ role: config.role }, 'mqtt listener not bound: devices connect to broker nodes');
      },

      ready: () => {
        if (state !== 'ok' || spool === undefined) return state;
        const stats = spool.stats();
        // Still serving, but telemetry PUBACKs are (or will soon be) withheld, or the store is
        // down and the spool holds the data.
        return stats.failed !== undefined || stats.nearFull || ingest?.ready() === 'degraded' ? 'degraded' : 'ok';
      },

      async close() {
        state = 'down';
        for (const s of subscriptions) s.unsubscribe();
        if (sweep !== undefined) clearInterval(sweep);
        waits.cancelAll();
        sessions.closeAll('broker shutting down');
        await ingest?.close();
        ingest = undefined;
        clustered?.close();
        await broker?.close();
        await redisBackends?.close();
        await listener?.close();
        refusals.close();
        await delivery.idle();
        await hooks?.idle();
        await sink?.close();
        inbox.complete();
        broker = undefined;
        spool = undefined;
      },
    };
  };
}
