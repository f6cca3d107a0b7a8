/** Provided as `ports.maintenance`: the platform answers false until OTA provides it. */
export interface MaintenancePort {
  /** True while the device is applying an update (alerts are then stored as maintenance). */
  isUpdating(deviceId: string): boolean;
}
