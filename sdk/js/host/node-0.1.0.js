// The host's interface on Node.js under the condition `warrant-0.1.0`
// (`node --conditions=warrant-0.1.0`): as `node.js`, for a plugin built
// against WIT 0.1.0.

export { log, takeLines } from './node.js';

/** The version of the WIT contract the plugin is built against. */
export const CONTRACT = '0.1.0';
