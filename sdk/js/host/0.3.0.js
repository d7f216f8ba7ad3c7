// The host's interface in a component built against WIT 0.3.0
// (`warrant:policy@0.3.0`), the contract this SDK targets: what `#host`
// resolves to unless the bundler is given the condition `warrant-0.1.0`.
// componentize-js binds the import to the component's import of
// `warrant:policy/host@0.3.0`.

export { log } from 'warrant:policy/host@0.3.0';

/** The version of the WIT contract the plugin is built against. */
export const CONTRACT = '0.3.0';
