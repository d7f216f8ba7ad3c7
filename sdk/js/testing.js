// Helpers for unit tests of plugins on Node.js, like the Rust SDK's
// `testing` module: a context to start from, and the lines logged. Only on
// Node.js: `#host` is then a stand-in that keeps log lines. A component
// cannot use this module (esbuild refuses to bundle it without Node's
// stand-in: no export `takeLines`).
//
//     import { context, takeLogs } from 'warrant-sdk/testing';
//     import { evaluate } from './policy.js';
//
//     const cx = context();
//     cx.intent.amount = { minorUnits: 15000n, currency: 'EUR' };
//     const decision = evaluate(cx, '{"maxAmountEuros": 100}');
//
// Node.js 20 gives `JSON.parse` revivers the source text of numbers, which
// the SDK needs, only with `--harmony-json-parse-with-source`; later
// versions always.

import { takeLines } from '#host';

/** 2026-01-01T00:00:00Z, the `now` of `context()`. */
export const NOW = Object.freeze({ seconds: 1767225600n, nanoseconds: 0 });

/**
 * A context of WIT 0.3.0 to start a test from, new at every call: an
 * intent with no amount and no merchant, paid with the card named `main`,
 * from an active supervised agent with no baseline and no history (every
 * count and spend 0n, flagged ones included), usage counted in EUR in the
 * time zone `UTC`, no risk summary, no charge, at `NOW`.
 */
export function context() {
    return {
        intent: {
            id: 'int_test',
            amount: undefined,
            merchant: undefined,
            card: { tag: 'name', val: 'main' },
            purpose: 'test',
            recurring: undefined,
            clientIntentId: undefined,
            ttlMinutes: 1440,
        },
        agent: {
            id: 'ag_test',
            name: 'test agent',
            status: 'active',
            agentType: 'supervised',
            profile: {
                purpose: 'testing',
                framework: undefined,
                capabilities: [],
                description: undefined,
                department: undefined,
                ownerContact: undefined,
            },
            tags: [],
            metadata: '{}',
            baseline: undefined,
        },
        usage: {
            currency: 'EUR',
            timezone: 'UTC',
            lastMinute: noUsage(),
            lastHour: noUsage(),
            lastDay: noUsage(),
            lastWeek: noUsage(),
            lastMonth: noUsage(),
            calendarDay: noUsage(),
            calendarMonth: noUsage(),
            merchantLastMonth: noUsage(),
        },
        risk: undefined,
        now: { ...NOW },
        charge: undefined,
    };
}

function noUsage() {
    return { count: 0n, spend: 0n, flaggedCount: 0n, flaggedSpend: 0n };
}

/**
 * Takes the lines logged so far, oldest first, as `[level, message]`
 * pairs (`level` is `debug`, `info`, `warn` or `error`).
 */
export function takeLogs() {
    return takeLines();
}
