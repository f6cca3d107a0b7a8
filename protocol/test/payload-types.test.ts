import { describe, expectTypeOf, it } from 'vitest';
import type {
  AgentConfig,
  Collector,
  DesiredConfig,
  DeviceStatus,
  OtaJob,
  PayloadOf,
  PublishError,
  PublishErrorCode,
  RegistryEventType,
  Rule,
  Severity,
  TelemetryBatch,
} from '../src/index.js';

// These assertions are checked by `tsc -b protocol`; at run time they only need to exist.
describe('static payload types', () => {
  it('narrow unions by their discriminator', () => {
    expectTypeOf<Extract<Collector, { type: 'command' }>['format']>().toEqualTypeOf<'kv' | 'json'>();
    expectTypeOf<Extract<DeviceStatus, { state: 'offline' }>>().toEqualTypeOf<{ v: 1; state: 'offline' }>();
    expectTypeOf<Collector['type']>().toEqualTypeOf<'system' | 'w1' | 'command' | 'simulated'>();
  });

  it('type literal fields as literals', () => {
    expectTypeOf<TelemetryBatch['v']>().toEqualTypeOf<1>();
    expectTypeOf<Severity>().toEqualTypeOf<'info' | 'warning' | 'critical'>();
    expectTypeOf<PublishError['code']>().toEqualTypeOf<PublishErrorCode>();
    expectTypeOf<RegistryEventType>().toExtend<string>();
  });

  it('type optional fields as optional', () => {
    expectTypeOf<Rule['range']>().toEqualTypeOf<[number, number] | undefined>();
    expectTypeOf<OtaJob['cancel']>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf<AgentConfig['collectors']>().toEqualTypeOf<DesiredConfig['collectors']>();
    expectTypeOf<PayloadOf<'Rule'>>().toEqualTypeOf<Rule>();
  });
});
