/** Device ids are certificate CNs (SPEC "Identity"). */
export const DEVICE_ID_RE = /^[a-z0-9][a-z0-9-]{2,63}$/;

const MAX_ID_LENGTH = 64;

export function isDeviceId(value: string | undefined): value is string {
  return value !== undefined && DEVICE_ID_RE.test(value);
}

/**
 * The prefix of ids the platform assigns: the token's own prefix, else the group name
 * folded to the id alphabet (`Lab_Pis` → `lab-pis`), else `device`.
 */
export function deviceIdPrefix(group: string, explicit?: string | null): string {
  const source = explicit ?? group;
  const folded = source
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
  return folded === '' ? 'device' : folded;
}

/** `{prefix}-{suffix}`, the prefix shortened so the id stays within 64 characters. */
export function assignedDeviceId(prefix: string, suffix: string): string {
  const room = MAX_ID_LENGTH - suffix.length - 1;
  const head = prefix.slice(0, Math.max(1, room)).replace(/-+$/, '');
  return `${head === '' ? 'd' : head}-${suffix}`;
}

/**
 * The id a device asks for: an explicit `deviceId` in the request wins, else the CSR's CN
 * when it is a valid id; undefined = let the platform assign one.
 */
export function requestedDeviceId(explicit: string | undefined, csrCommonName: string | undefined): string | undefined {
  if (explicit !== undefined) return explicit;
  return isDeviceId(csrCommonName) ? csrCommonName : undefined;
}
