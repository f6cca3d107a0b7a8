export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const RANK: Readonly<Record<Role, number>> = { viewer: 1, operator: 2, admin: 3 };

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** True when `held` grants at least what `required` asks (admin > operator > viewer). */
export function roleAtLeast(held: Role, required: Role): boolean {
  return RANK[held] >= RANK[required];
}
