import type { OutpostConfig, RegistryPort } from '@outpost/kernel';
import { CaStore } from '../adapters/ca-store.js';
import { CertificateStore } from '../adapters/certificate-store.js';
import { CommandStore } from '../adapters/command-store.js';
import { ConfigStore } from '../adapters/config-store.js';
import { DeviceStore } from '../adapters/device-store.js';
import type { RegistryDb } from '../adapters/json-columns.js';
import { TokenStore } from '../adapters/token-store.js';
import { RateLimiter } from '../domain/rate-limiter.js';
import { CaService } from './ca-service.js';
import { CertificateIssuer } from './certificate-issuer.js';
import { CommandService } from './command-service.js';
import { ConfigService } from './config-service.js';
import { CredentialService } from './credential-service.js';
import { CrlService } from './crl-service.js';
import { DeviceService } from './device-service.js';
import { EnrollmentService } from './enrollment-service.js';
import { LifecycleService } from './lifecycle-service.js';
import { RegistryEvents } from './registry-events.js';
import { createRegistryPort } from './registry-port-adapter.js';
import { RenewalService } from './renewal-service.js';
import { ServerCredentials } from './server-credentials.js';
import { TokenService } from './token-service.js';
import { randomIdSuffix } from './token-secrets.js';

/** Every service of the registry, wired over one database. */
export interface RegistryServices {
  readonly events: RegistryEvents;
  readonly ca: CaService;
  readonly tls: ServerCredentials;
  readonly crl: CrlService;
  readonly tokens: TokenService;
  readonly enrollment: EnrollmentService;
  readonly renewal: RenewalService;
  readonly devices: DeviceService;
  readonly lifecycle: LifecycleService;
  readonly configs: ConfigService;
  readonly commands: CommandService;
  readonly credentials: CredentialService;
  readonly port: RegistryPort;
}

export interface RegistryServicesDeps {
  readonly db: RegistryDb;
  readonly config: OutpostConfig;
  readonly secretKey: Buffer;
  readonly now: () => number;
  /** The random part of assigned device ids; tests make it predictable. */
  readonly randomSuffix?: () => string;
}

export function createRegistryServices(deps: RegistryServicesDeps): RegistryServices {
  const { db, config, secretKey, now } = deps;
  const caStore = new CaStore(db);
  const certificateStore = new CertificateStore(db);
  const deviceStore = new DeviceStore(db);
  const commandStore = new CommandStore(db);
  const configStore = new ConfigStore(db);
  const events = new RegistryEvents(now);
  const ca: CaService = new CaService({
    store: caStore,
    certificates: certificateStore,
    secretKey,
    now,
    onChange: async () => {
      crl.invalidate();
      await tls.refresh();
    },
  });
  const tls = new ServerCredentials({ ca, store: caStore, secretKey, serverNames: config.serverNames, now });
  const crl = new CrlService({ ca, cas: caStore, certificates: certificateStore, now });
  const issuer = new CertificateIssuer({ ca, deviceCertDays: config.deviceCertDays, now });
  const configs = new ConfigService({ configs: configStore, devices: deviceStore, events, limits: { ...config.limits }, now });
  const commands = new CommandService({ commands: commandStore, devices: deviceStore, events, now });
  return {
    events,
    ca,
    tls,
    crl,
    tokens: new TokenService({ tokens: new TokenStore(db), devices: deviceStore, now }),
    enrollment: new EnrollmentService({ db, issuer, events, now, randomSuffix: deps.randomSuffix ?? randomIdSuffix }),
    renewal: new RenewalService({
      ca,
      devices: deviceStore,
      certificates: certificateStore,
      issuer,
      events,
      now,
      renewGraceDays: config.renewGraceDays,
      renewFromPercent: config.renewFromPercent,
      perDevice: new RateLimiter({ limit: config.renewRateLimit, windowMs: config.renewRateWindowMs, now }),
    }),
    devices: new DeviceService({ devices: deviceStore, certificates: certificateStore, events, now }),
    lifecycle: new LifecycleService({ devices: deviceStore, certificates: certificateStore, commands: commandStore, configs: configStore, events, now, onRevoked: () => crl.invalidate() }),
    configs,
    commands,
    credentials: new CredentialService({ ca, certificates: certificateStore, now }),
    port: createRegistryPort({ devices: deviceStore, certificates: certificateStore, configs, commands, events, now }),
  };
}
