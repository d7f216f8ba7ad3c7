// The host's interface in a component built against WIT 0.1.0
// (`warrant:policy@0.1.0`, `wit/warrant.wit`): what `#host` resolves to
// when the bundler is given the condition `warrant-0.1.0`. Its decisions
// carry no actions.

export { log } from 'warrant:policy/host@0.1.0';

/** The version of the WIT contract the plugin is built against. */
export const CONTRACT = '0.1.0';
