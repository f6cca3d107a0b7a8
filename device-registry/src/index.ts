export { createRegistryPart, PART_NAME, type RegistryPartOptions } from './registry-part.js';
export type * as RegistryApi from './http/api-types.js';
