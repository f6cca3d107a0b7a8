export { createRegistryPart, PART_NAME, type RegistryPartOptions } from './registry-part.js';
