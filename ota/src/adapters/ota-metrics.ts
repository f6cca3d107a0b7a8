/** The OTA part's own Prometheus metrics (`outpost_ota_*`: keys, uploads, downloads), created unregistered. */
import { Counter, Gauge, type Metric, type Registry } from 'prom-client';

export interface OtaMetricSources {
  /** Downloads streaming now. */
  downloadsInFlight(): number;
  /** Keys of the current TrustSet and its version. */
  trust(): { keys: number; version: number };
}

export class OtaMetrics {
  readonly bytesServed = new Counter({ name: 'outpost_ota_download_bytes_total', help: 'Firmware bytes sent to devices', registers: [] });
  readonly downloads = new Counter({ name: 'outpost_ota_downloads_total', help: 'Firmware downloads started (whole or ranged)', registers: [] });
  readonly refusals = new Counter({
    name: 'outpost_ota_download_refusals_total',
    help: 'Firmware downloads refused, by reason (unauthenticated|certificate|no-job|not-found|range|busy)',
    labelNames: ['reason'] as const,
    registers: [],
  });
  readonly uploads = new Counter({ name: 'outpost_ota_uploads_total', help: 'Firmware uploads, by outcome (stored|duplicate|refused)', labelNames: ['outcome'] as const, registers: [] });
  readonly uploadBytes = new Counter({ name: 'outpost_ota_upload_bytes_total', help: 'Artifact bytes received by uploads (refused ones included)', registers: [] });
  readonly #gauges: Metric[];

  constructor(sources: OtaMetricSources) {
    this.#gauges = [
      new Gauge({ name: 'outpost_ota_downloads_in_flight', help: 'Firmware downloads streaming now', registers: [], collect() { this.set(sources.downloadsInFlight()); } }),
      new Gauge({ name: 'outpost_ota_signing_keys', help: 'Signing keys in the current TrustSet', registers: [], collect() { this.set(sources.trust().keys); } }),
      new Gauge({ name: 'outpost_ota_trust_set_version', help: 'Version of the current TrustSet (0: none yet)', registers: [], collect() { this.set(sources.trust().version); } }),
    ];
  }

  register(registry: Registry): void {
    for (const metric of [this.bytesServed, this.downloads, this.refusals, this.uploads, this.uploadBytes, ...this.#gauges] as Metric[]) registry.registerMetric(metric);
  }
}
