export { createOtaPart, PART_NAME } from './ota-part.js';
