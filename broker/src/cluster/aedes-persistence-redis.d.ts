// aedes-persistence-redis 12 ships no types: the one call the cluster makes (issue 15).
declare module 'aedes-persistence-redis' {
  import type { Redis } from 'ioredis';
  interface RedisPersistenceOptions {
    /** The connection to use (the persistence disconnects it in destroy()). */
    readonly conn?: Redis;
    /** Most queued QoS 1 messages replayed to one session at once; default 1000. */
    readonly maxSessionDelivery?: number;
  }
  interface RedisPersistence {
    destroy(callback: () => void): void;
  }
  function aedesPersistenceRedis(options?: RedisPersistenceOptions): RedisPersistence;
  export default aedesPersistenceRedis;
}
