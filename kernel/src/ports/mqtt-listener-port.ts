/**
 * Where the MQTT listener is bound, for the parts composed before the broker that hand out
 * its address: the registry's enroll answer (`mqttUrl`) needs the bound port when
 * `OUTPOST_MQTT_PORT` is 0 (ephemeral). The registry provides this port as
 * `ports.mqttListener`; the broker calls `bound` once its listener is up. While the registry
 * provides none, nothing is announced (the answer keeps the configured port).
 */
export interface MqttListenerPort {
  bound(address: { readonly port: number }): void;
}

