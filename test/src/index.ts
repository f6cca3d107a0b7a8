export { startChromium, CHROMIUM_ARGS, CHROMIUM_EXECUTABLE } from './services/chromium.js';
export type { ChromiumHandle, StartChromiumOptions } from './services/chromium.js';
export { findFreePort, findFreePorts } from './services/free-port.js';
export { startInfluxd, INFLUXD_EXECUTABLE } from './services/influxd.js';
export type { InfluxdHandle, StartInfluxdOptions } from './services/influxd.js';
export { startRedis, REDIS_EXECUTABLE } from './services/redis.js';
export type { RedisHandle, StartRedisOptions } from './services/redis.js';
export { startPostgres, POSTGRES_BIN_DIR, type PostgresHandle, type StartPostgresOptions } from './services/postgres.js';
export { startHaproxy, renderHaproxyConfig, HAPROXY_EXECUTABLE, HAPROXY_CONFIG_FILE, type HaproxyHandle, type HaproxyBackend, type StartHaproxyOptions } from './services/haproxy.js';
export { startCluster, type ClusterHandle, type ClusterNode, type StartClusterOptions } from './cluster/start-cluster.js';
export { enrollFleet, type EnrollFleetOptions, type FleetEnrollment, type FleetFrontDoor } from './cluster/enroll-fleet.js';
export { startClusterFleet, SimulatedDevice, nodeReadiness, type NodeReadiness, type ClusterFleet, type QosLoad, type StartClusterFleetOptions, type AdminCall } from './cluster/cluster-fleet.js';
export { OutputTail } from './services/output-tail.js';
export { serviceTimeoutMs, SERVICE_TIMEOUT_ENV } from './services/service-timeout.js';
export { spawnService, ServiceError } from './services/spawn-service.js';
export type { ServiceContext, ServiceDefinition, ServiceHandle, SpawnedService } from './services/spawn-service.js';
export { waitFor, WaitForTimeoutError } from './services/wait-for.js';
export type { WaitForOptions } from './services/wait-for.js';
export { startServerProcess, runServerUntilExit, enrollDevices, adminApi, BENCH_PASSWORD as SERVER_ADMIN_PASSWORD } from './services/outpost-server.js';
export type { ServerProcess, ServerProcessOptions, DeviceIdentity } from './services/outpost-server.js';
// The in-process platform, for the part suites that compose parts themselves: parts never
// depend on the composition root (ADR 0007), their tests reach it through this harness.
export { Platform, loadConfig, createLogger, serverParts } from '@outpost/platform';
export type { PlatformOptions, StartedPlatform } from '@outpost/platform';
// The one in-process platform harness (STYLE 20): suites name their parts, clock and environment.
export { startPlatform, testPlatformEnv, TEST_ADMIN_PASSWORD } from './harness/start-platform.js';
export type { StartPlatformOptions, TestPlatform, LogLine } from './harness/start-platform.js';
// The operator API and device enrollment as part suites drive them, with test keys and CSRs.
export { startStateEngine, STATE_ENGINES, type StateEngine, type StateEngineName, type TestStateDatabase } from './harness/state-engines.js';
export { runMigrations } from '@outpost/platform';
export { platformClient } from './harness/platform-client.js';
export type { PlatformClient, DeviceCredentials } from './harness/platform-client.js';
export { connectDevice } from './harness/mqtt-device.js';
export { rsaKeyPair, csrFor, foreignClientCertificate } from './harness/test-pki.js';
export type { KeyPair } from './harness/test-pki.js';
