// The host's interface on Node.js, for unit tests of the SDK and of
// plugins: there is no host, so log lines are kept until `takeLogs` of
// `warrant-sdk/testing` takes them. `#host` resolves here under the
// condition `node`, which Node.js always sets and esbuild only for
// `--platform=node`.

const lines = [];

/** Keeps a log line, `[level, message]`, for `takeLogs`. */
export function log(level, message) {
    lines.push([level, message]);
}

/** Takes the lines kept so far, oldest first. */
export function takeLines() {
    return lines.splice(0);
}

/** The version of the WIT contract the plugin is built against. */
export const CONTRACT = '0.3.0';
