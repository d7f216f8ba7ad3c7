// Types of `warrant-sdk/testing` (testing.js), for unit tests on Node.js.

import type { Context, LogLevel, Timestamp } from './warrant.js';

/** 2026-01-01T00:00:00Z, the `now` of `context()`. */
export declare const NOW: Readonly<Timestamp>;

/**
 * A context of WIT 0.3.0 to start a test from, new at every call: no
 * amount, no merchant, an active supervised agent without baseline or
 * history, usage in EUR and `UTC`, no risk, no charge, at `NOW`.
 */
export declare function context(): Context;

/** Takes the lines logged so far, oldest first. */
export declare function takeLogs(): [LogLevel, string][];
