// Unit tests of warrant.js, on the host's Node.js (20.6 or later):
//
//     node --test sdk/js/warrant.test.mjs
//
// warrant.js is written for componentize-js: it imports the host's
// interface, `warrant:policy/host`, which only a component has, and is an
// ES module in a folder without a package.json. Loader hooks give it a
// stand-in for the host that records log lines, and load it as a module.

import assert from 'node:assert/strict';
import { register } from 'node:module';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';

// Node 20 gives JSON.parse revivers the source text of numbers only behind
// a flag, which takes effect when set at run time; later versions always.
if (JSON.parse('0.10', (key, value, context) => context?.source) !== '0.10') {
    setFlagsFromString('--harmony-json-parse-with-source');
}

const HOST = 'export const log = (level, message) => globalThis.hostLog.push([level, message]);';
const HOST_URL = `data:text/javascript,${encodeURIComponent(HOST)}`;
const HOOKS = `
export async function resolve(specifier, context, next) {
    if (specifier === 'warrant:policy/host@0.1.0') {
        return { url: ${JSON.stringify(HOST_URL)}, shortCircuit: true };
    }
    return next(specifier, context);
}
export async function load(url, context, next) {
    if (url.endsWith('/warrant.js')) {
        return next(url, { ...context, format: 'module' });
    }
    return next(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(HOOKS)}`);
globalThis.hostLog = [];

const {
    PluginError,
    amount,
    approve,
    asciiLowercase,
    boolean,
    defaulted,
    deny,
    equalsIgnoreAsciiCase,
    formatMoney,
    optional,
    readConfig,
    review,
    string,
    strings,
    withConfig,
} = await import('./warrant.js');

/** Asserts that `run` throws an `invalid-config` error whose message matches `message`. */
function assertInvalid(run, message) {
    assert.throws(run, (error) => {
        assert.ok(error instanceof PluginError, `not a PluginError: ${error}`);
        assert.equal(error.code, 'invalid-config');
        assert.match(error.message, message);
        assert.deepEqual(error.payload, { code: 'invalid-config', message: error.message });
        return true;
    });
}

/** Reads `text` with a single amount field `max` of 2 decimals. */
function readMax(text) {
    return readConfig(text, { max: amount(2) }).max;
}

// Any value, as parsed.
const any = () => (value) => value;

test('reads amounts exactly, from their text', () => {
    assert.equal(readMax('{"max": 100}'), 10000n);
    assert.equal(readMax('{"max": 100.5}'), 10050n);
    assert.equal(readMax('{"max": 0.1}'), 10n);
    assert.equal(readMax('{"max": 90071992547409.93}'), 9007199254740993n);
    assert.equal(readMax('{"max": 184467440737095516.15}'), 2n ** 64n - 1n);
    assert.equal(readConfig('{"n": 18446744073709551615}', { n: amount(0) }).n, 2n ** 64n - 1n);
});

test('reads exponents and trailing zeros', () => {
    assert.equal(readMax('{"max": 1e2}'), 10000n);
    assert.equal(readMax('{"max": 2.5E-1}'), 25n);
    assert.equal(readMax('{"max": 1E+2}'), 10000n);
    assert.equal(readMax('{"max": 1.000}'), 100n);
    assert.equal(readMax('{"max": 0e400000000}'), 0n);
    assert.equal(readMax('{"max": 0.000e-99999999999999999999}'), 0n);
    assert.equal(readMax(`{"max": 1${'0'.repeat(90)}e-85}`), 10000000n);
});

test('refuses amounts it cannot hold exactly', () => {
    assertInvalid(() => readMax('{"max": 1.001}'), /at most 2 decimals/);
    assertInvalid(() => readMax('{"max": 1e-3}'), /at most 2 decimals/);
    assertInvalid(() => readMax('{"max": 1e-99999999999999999999}'), /at most 2 decimals/);
    assertInvalid(
        () => readMax('{"max": 184467440737095516.16}'),
        /at most 184467440737095516\.15/,
    );
    assertInvalid(() => readMax('{"max": 1e500000000}'), /at most/);
    assertInvalid(() => readMax('{"max": 1e100000000000000000000}'), /at most/);
    assertInvalid(() => readMax('{"max": -1}'), /must not be negative/);
    assertInvalid(() => readMax('{"max": -0}'), /must not be negative/);
    assertInvalid(() => readMax('{"max": "100"}'), /`max` must be a number/);
    assertInvalid(() => readMax('{"max": null}'), /`max` must be a number/);
});

test('refuses a configuration that is not an object', () => {
    for (const text of ['5', '1e2', 'null', '[]', '"text"', 'true']) {
        assertInvalid(() => readConfig(text, {}), /must be a JSON object/);
    }
    assert.deepEqual(readConfig(' {} ', {}), {});
});

test('refuses text that is not JSON', () => {
    for (const text of ['', '{', '{"max": 1,}', "{'max': 1}", '{"max": NaN}', '{"max": 01}']) {
        assertInvalid(() => readConfig(text, { max: any() }), /not valid JSON/);
    }
});

test('refuses lone surrogates, as escapes or as text, in strings and keys', () => {
    const fields = { allow: strings(), other: optional(any()) };
    for (const text of [
        '{"allow": ["\\ud800"]}',
        '{"allow": ["\\udc00x"]}',
        '{"allow": ["a\\ud83d"]}',
        '{"allow": ["\\ude00\\ud83d"]}',
        '{"allow": [], "other": {"nested": ["\\ud800"]}}',
        '{"allow": [], "other": {"\\ud800": 1}}',
        // A lone surrogate ending one key and another starting the next.
        '{"allow": [], "other": {"\\ud83d": 1, "\\ude00": 2}}',
        '{"allow": ["\ud800"]}',
    ]) {
        assertInvalid(() => readConfig(text, fields), /not valid JSON/);
    }
    const pair = readConfig('{"allow": ["\\ud83d\\ude00", "😀", "\\\\ud800"]}', fields);
    assert.deepEqual(pair.allow, ['😀', '😀', '\\ud800']);
});

test('refuses a key given twice, in any object', () => {
    const fields = { max: optional(any()), allow: optional(any()) };
    assertInvalid(() => readConfig('{"max": 1, "max": 2}', fields), /field `max` is given twice/);
    assertInvalid(() => readConfig('{"max":1,"allow":[],"max":1}', fields), /`max` is given twice/);
    assertInvalid(
        () => readConfig('{"allow": [{"a": 1}, {"b": 1, "c": {"b": 1}, "b": 2}]}', fields),
        /`b` is given twice/,
    );
    // Colons, quotes and backslashes inside strings are no keys.
    assertInvalid(
        () => readConfig('{"allow": ["a:b", "\\":", "c\\\\"], "allow": []}', fields),
        /`allow` is given twice/,
    );
    assertInvalid(() => readConfig('{"max": 1, "m\\u0061x": 2}', fields), /`max` is given twice/);
    assertInvalid(() => readConfig('{"max" : 1, "max"\n:\t2}', fields), /`max` is given twice/);
});

test('takes the same key in different objects, and colons in strings', () => {
    const fields = { max: optional(any()), allow: optional(any()) };
    const config = readConfig(
        '{"allow": [{"a": "x:y"}, {"a": "\\\\", "b:": ":"}, "\\":\\\\\\":"], "max": {"a": ":"}}',
        fields,
    );
    assert.deepEqual(config.allow, [{ a: 'x:y' }, { a: '\\', 'b:': ':' }, '":\\":']);
    assert.deepEqual(config.max, { a: ':' });
    assert.deepEqual(readConfig('{"allow": ["https://a.example:443"]}', fields).allow, [
        'https://a.example:443',
    ]);
});

test('refuses missing and unknown fields', () => {
    assertInvalid(() => readConfig('{}', { max: amount(2) }), /missing field `max`/);
    assertInvalid(
        () => readConfig('{"max": 1, "mx": 2}', { max: amount(2) }),
        /unknown field `mx`/,
    );
    assertInvalid(() => readConfig('{"__proto__": 1}', {}), /unknown field `__proto__`/);
    // A field missing from the configuration is missing, whatever its name.
    assertInvalid(() => readConfig('{}', { toString: string() }), /missing field `toString`/);
});

test('optional takes a missing field or null; defaulted only a missing one', () => {
    const fields = {
        threshold: optional(amount(2)),
        tags: optional(strings(), ['none']),
        allow: defaulted(strings(), []),
    };
    assert.deepEqual(readConfig('{}', fields), { threshold: undefined, tags: ['none'], allow: [] });
    assert.deepEqual(readConfig('{"threshold": null, "tags": null}', fields), {
        threshold: undefined,
        tags: ['none'],
        allow: [],
    });
    assert.deepEqual(readConfig('{"threshold": 1, "allow": ["a"]}', fields), {
        threshold: 100n,
        tags: ['none'],
        allow: ['a'],
    });
    assertInvalid(() => readConfig('{"allow": null}', fields), /`allow` must be a list of strings/);
});

test('strings refuses blank strings, by Unicode White_Space as Rust trims it', () => {
    const read = (list) => readConfig(JSON.stringify({ allow: list }), { allow: strings() }).allow;
    const blank = [
        '',
        ' ',
        '\t\n\v\f\r',
        '\u0085',
        '\u00a0',
        '\u1680',
        '\u2000\u2005\u200a',
        '\u2028\u2029',
        '\u202f\u205f\u3000',
        '\u2003\u0085',
    ];
    for (const text of blank) {
        assertInvalid(() => read(['a', text]), /must not contain empty strings/);
    }
    const notBlank = ['\ufeff', '\u001c', '\u001f', '\u200b', ' a', 'a ', '\u3000x'];
    notBlank.push('Ölbaum', 'Ấn', '東京', '😀');
    assert.deepEqual(read(notBlank), notBlank);
    assertInvalid(() => read(['a', 1]), /must be a list of strings/);
    assertInvalid(() => readConfig('{"allow": "a"}', { allow: strings() }), /must be a list/);
});

test('string and boolean read their type only', () => {
    const fields = { name: string(), on: boolean() };
    assert.deepEqual(readConfig('{"name": "x", "on": false}', fields), { name: 'x', on: false });
    assertInvalid(() => readConfig('{"name": 1, "on": true}', fields), /`name` must be a string/);
    assertInvalid(() => readConfig('{"name": "x", "on": 1}', fields), /`on` must be true or false/);
});

test('decisions', () => {
    assert.deepEqual(
        { ...deny('over').withCode('amount-over-max').withAnnotation('limit', 5) },
        {
            verdict: { tag: 'deny', val: 'over' },
            codes: ['amount-over-max'],
            annotations: [{ key: 'limit', value: '5' }],
        },
    );
    assert.deepEqual(approve().verdict, { tag: 'approve' });
    assert.deepEqual(review('look').verdict, { tag: 'review', val: 'look' });
});

test('withConfig passes plugin errors on, and logs anything else', () => {
    const evaluate = withConfig({ max: amount(2) }, (context, config) => {
        if (context === 'bug') {
            throw new TypeError('boom');
        }
        return approve().withAnnotation('max', formatMoney(config.max));
    });
    assert.deepEqual(evaluate(undefined, '{"max": 1}').annotations, [
        { key: 'max', value: '1.00 EUR' },
    ]);
    globalThis.hostLog = [];
    assertInvalid(() => evaluate(undefined, '{}'), /missing field/);
    assert.deepEqual(globalThis.hostLog, []);
    assert.throws(() => evaluate('bug', '{"max": 1}'), TypeError);
    assert.equal(globalThis.hostLog.length, 1);
    assert.equal(globalThis.hostLog[0][0], 'error');
    assert.match(globalThis.hostLog[0][1], /^TypeError: boom\n/);
});

test('text helpers', () => {
    assert.equal(formatMoney(10050n), '100.50 EUR');
    assert.equal(formatMoney(5n), '0.05 EUR');
    assert.equal(formatMoney(5000n, 'JPY', 0), '5000 JPY');
    assert.equal(asciiLowercase('BÜCHER.Example'), 'bÜcher.example');
    assert.ok(equalsIgnoreAsciiCase('Hetzner.COM', 'hetzner.com'));
    assert.ok(!equalsIgnoreAsciiCase('BÜCHER', 'bücher'));
    assert.ok(!equalsIgnoreAsciiCase('\u212a', 'k'));
});
