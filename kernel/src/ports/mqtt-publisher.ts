/** One message published from the platform into the broker. */
export interface MqttMessage {
  readonly topic: string;
  readonly payload: string | Buffer;
  readonly qos: 0 | 1;
  readonly retain: boolean;
}

/**
 * Publishing from the platform into the MQTT broker (provided by the broker as
 * `ports.mqttPublisher`; the alerts part's `integrations/alerts` notifications). Resolves
 * once the broker has taken the message; rejects with BROKER_UNAVAILABLE while it is not running.
 */
export interface MqttPublisher {
  publish(message: MqttMessage): Promise<void>;
}
