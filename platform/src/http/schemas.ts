import { Type } from 'typebox';

/** The platform's own route schemas; what every part shares (error body, pages, cursors) is in @outpost/kernel. */
export const RoleSchema = Type.Enum(['admin', 'operator', 'viewer'], { description: 'admin > operator > viewer' });
