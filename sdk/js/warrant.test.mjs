// Unit tests of the SDK on the host's Node.js (20 or later), from the
// repository's root:
//
//     node --test sdk/js/warrant.test.mjs
//
// On Node.js, `#host` (package.json) is a stand-in for the host's
// interface that keeps log lines for `takeLogs`. The tests also check the
// package: the contract switch (`--conditions=warrant-0.1.0`, in a child
// process), the type declarations (tsc from examples/tools.sh, on
// types.test.ts) and `npm install` of the folder.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

// Node 20 gives JSON.parse revivers the source text of numbers only behind
// a flag, which takes effect when set at run time; later versions always.
const SOURCE_TEXT_FLAG = JSON.parse('0.10', (key, value, context) => context?.source) !== '0.10';
if (SOURCE_TEXT_FLAG) {
    setFlagsFromString('--harmony-json-parse-with-source');
}

const here = dirname(fileURLToPath(import.meta.url));

const sdk = await import('./warrant.js');
const {
    ALERT,
    CONTRACT,
    Decision,
    PluginError,
    SUSPEND_AGENT,
    amount,
    approve,
    asciiLowercase,
    boolean,
    defaulted,
    deny,
    equalsIgnoreAsciiCase,
    formatMoney,
    integer,
    optional,
    readConfig,
    review,
    string,
    strings,
    trim,
    withConfig,
} = sdk;
const { NOW, context, takeLogs } = await import('./testing.js');

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
            actions: [],
        },
    );
    assert.deepEqual(approve().verdict, { tag: 'approve' });
    assert.deepEqual(review('look').verdict, { tag: 'review', val: 'look' });
    assert.ok(approve() instanceof Decision);
    const decision = approve().withAnnotation('a', 1).withAnnotation('a', 2);
    assert.equal(decision.annotation('a'), '1');
    assert.equal(decision.annotation('b'), undefined);
});

test('decisions ask for actions, in order', () => {
    assert.equal(CONTRACT, '0.3.0');
    assert.equal(SUSPEND_AGENT, 'suspend-agent');
    assert.equal(ALERT, 'alert');
    const decision = deny('over the budget')
        .withCode('budget-exceeded')
        .withSuspendAgent('spent 120.00 EUR of a budget of 100.00 EUR')
        .withAlert('the budget is exhausted')
        .withAction('page-on-call', 'look at it');
    assert.deepEqual(decision.actions, [
        { kind: 'suspend-agent', message: 'spent 120.00 EUR of a budget of 100.00 EUR' },
        { kind: 'alert', message: 'the budget is exhausted' },
        { kind: 'page-on-call', message: 'look at it' },
    ]);
    assert.ok(decision.hasAction(SUSPEND_AGENT));
    assert.ok(decision.hasAction('alert'));
    assert.ok(decision.hasAction('page-on-call'));
    assert.ok(!decision.hasAction('Alert'));
    assert.deepEqual(decision.codes, ['budget-exceeded']);
    // The same kind twice is asked for twice.
    assert.deepEqual(approve().withAlert('a').withAlert('b').actions, [
        { kind: 'alert', message: 'a' },
        { kind: 'alert', message: 'b' },
    ]);
    const plain = approve();
    assert.deepEqual(plain.actions, []);
    assert.ok(!plain.hasAction(SUSPEND_AGENT));
    // Each decision has its own list.
    assert.equal(approve().withAlert('x').actions.length, 1);
    assert.deepEqual(approve().actions, []);
    // Not strings: a bug, caught where it is made.
    assert.throws(() => approve().withSuspendAgent(), TypeError);
    assert.throws(() => approve().withAction('alert', 5), TypeError);
    assert.throws(() => approve().withAction(undefined, 'why'), TypeError);
});

test('withConfig returns decisions with their actions', () => {
    const evaluate = withConfig({ max: integer() }, (cx, config) => {
        const spent = cx.usage.lastDay.spend;
        return spent > config.max
            ? deny('over').withSuspendAgent(`spent ${spent}`).withAlert('over')
            : approve();
    });
    const cx = context();
    cx.usage.lastDay.spend = 101n;
    const decision = evaluate(cx, '{"max": 100}');
    assert.deepEqual(decision.actions, [
        { kind: 'suspend-agent', message: 'spent 101' },
        { kind: 'alert', message: 'over' },
    ]);
    assert.deepEqual(evaluate(context(), '{"max": 100}').actions, []);
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
    takeLogs();
    assertInvalid(() => evaluate(undefined, '{}'), /missing field/);
    assert.deepEqual(takeLogs(), []);
    assert.throws(() => evaluate('bug', '{"max": 1}'), TypeError);
    const lines = takeLogs();
    assert.equal(lines.length, 1);
    assert.equal(lines[0][0], 'error');
    assert.match(lines[0][1], /^TypeError: boom\n/);
    assert.deepEqual(takeLogs(), []);
});

test('log writes each level to the host', () => {
    takeLogs();
    sdk.log.debug('d');
    sdk.log.info('i');
    sdk.log.warn('w');
    sdk.log.error('e');
    assert.deepEqual(takeLogs(), [
        ['debug', 'd'],
        ['info', 'i'],
        ['warn', 'w'],
        ['error', 'e'],
    ]);
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

test('trim removes white space as Rust does', () => {
    assert.equal(trim('  hetzner.com\t\n'), 'hetzner.com');
    assert.equal(trim('\u0085\u00a0\u3000a b\u2028\u202f'), 'a b');
    assert.equal(trim('hetzner.com'), 'hetzner.com');
    assert.equal(trim(''), '');
    assert.equal(trim(' \t '), '');
    // Not U+FEFF, nor U+001C to U+001F, which String.prototype.trim
    // treats otherwise.
    assert.equal(trim('\ufeffa\ufeff'), '\ufeffa\ufeff');
    assert.equal(trim('\u001ca\u001f'), '\u001ca\u001f');
    assert.equal(trim('東京 '), '東京');
    assert.equal(trim('😀\u2003'), '😀');
});

test('integer reads whole numbers written as such', () => {
    const read = (text, max) => readConfig(text, { n: integer(max) }).n;
    assert.equal(read('{"n": 0}'), 0n);
    assert.equal(read('{"n": 30}'), 30n);
    assert.equal(read('{"n": 18446744073709551615}'), 2n ** 64n - 1n);
    assert.equal(read('{"n": 4294967295}', 2n ** 32n - 1n), 2n ** 32n - 1n);
    assertInvalid(
        () => read('{"n": 4294967296}', 2n ** 32n - 1n),
        /`n` must be at most 4294967295/,
    );
    assertInvalid(() => read('{"n": 18446744073709551616}'), /at most 18446744073709551615/);
    assertInvalid(() => read('{"n": 30.0}'), /`n` must be a whole number/);
    assertInvalid(() => read('{"n": 10.5}'), /`n` must be a whole number/);
    assertInvalid(() => read('{"n": 3e1}'), /`n` must be a whole number/);
    assertInvalid(() => read('{"n": -1}'), /`n` must not be negative/);
    assertInvalid(() => read('{"n": -0}'), /`n` must not be negative/);
    assertInvalid(() => read('{"n": "30"}'), /`n` must be a number/);
    assertInvalid(() => read('{"n": null}'), /`n` must be a number/);
    assertInvalid(() => read('{}'), /missing field `n`/);
    assert.equal(readConfig('{}', { n: optional(integer(100n)) }).n, undefined);
});

test('the testing context is a WIT 0.3.0 context with nothing in it', () => {
    const cx = context();
    assert.equal(cx.intent.amount, undefined);
    assert.equal(cx.intent.merchant, undefined);
    assert.deepEqual(cx.intent.card, { tag: 'name', val: 'main' });
    assert.equal(cx.agent.status, 'active');
    assert.equal(cx.agent.agentType, 'supervised');
    assert.ok(Object.hasOwn(cx.agent, 'baseline'));
    assert.equal(cx.agent.baseline, undefined);
    assert.equal(cx.usage.currency, 'EUR');
    assert.equal(cx.usage.timezone, 'UTC');
    for (const name of [
        'lastMinute',
        'lastHour',
        'lastDay',
        'lastWeek',
        'lastMonth',
        'calendarDay',
        'calendarMonth',
        'merchantLastMonth',
    ]) {
        assert.deepEqual(cx.usage[name], {
            count: 0n,
            spend: 0n,
            flaggedCount: 0n,
            flaggedSpend: 0n,
        });
    }
    assert.equal(cx.risk, undefined);
    assert.ok(Object.hasOwn(cx, 'charge'));
    assert.equal(cx.charge, undefined);
    assert.deepEqual(cx.now, { seconds: 1767225600n, nanoseconds: 0 });
    assert.deepEqual(NOW, cx.now);
    // Every call gives a context of its own.
    cx.usage.lastDay.count = 5n;
    cx.now.seconds = 0n;
    assert.equal(context().usage.lastDay.count, 0n);
    assert.equal(context().usage.lastHour.count, 0n);
    assert.equal(context().now.seconds, 1767225600n);
});

/**
 * Runs `code`, an ES module, in a child Node.js with `options`, from this
 * folder; returns what it prints on stdout, parsed as JSON.
 */
function runChild(options, code) {
    const flags = SOURCE_TEXT_FLAG ? ['--harmony-json-parse-with-source'] : [];
    const stdout = execFileSync(
        process.execPath,
        [...flags, ...options, '--input-type=module', '--eval', code],
        { cwd: here, encoding: 'utf8' },
    );
    return JSON.parse(stdout);
}

test('built against WIT 0.1.0, asking for an action throws', () => {
    const result = runChild(
        ['--conditions=warrant-0.1.0'],
        `
        import { CONTRACT, approve, deny, withConfig } from './warrant.js';
        import { takeLogs } from './testing.js';
        const errors = [];
        for (const ask of [
            (d) => d.withSuspendAgent('why'),
            (d) => d.withAlert('what'),
            (d) => d.withAction('alert', 'what'),
        ]) {
            try {
                ask(approve());
                errors.push(null);
            } catch (error) {
                errors.push(error.name + ': ' + error.message);
            }
        }
        const evaluate = withConfig({}, () => deny('over').withSuspendAgent('over'));
        let trapped = false;
        try {
            evaluate(undefined, '{}');
        } catch {
            trapped = true;
        }
        const plain = withConfig({}, () => deny('over').withCode('c'))(undefined, '{}');
        console.log(JSON.stringify({ CONTRACT, errors, trapped, logs: takeLogs(), plain }));
        `,
    );
    assert.equal(result.CONTRACT, '0.1.0');
    assert.equal(result.errors.length, 3);
    for (const error of result.errors) {
        assert.match(error, /^Error: a decision cannot ask for the action `(suspend-agent|alert)`/);
        assert.match(error, /built against WIT 0\.1\.0/);
    }
    // Through withConfig: logged as a bug, then thrown (the host traps).
    assert.ok(result.trapped);
    assert.equal(result.logs.length, 1);
    assert.equal(result.logs[0][0], 'error');
    assert.match(result.logs[0][1], /cannot ask for the action `suspend-agent`/);
    // Everything else is as under 0.3.0.
    assert.deepEqual(result.plain, {
        verdict: { tag: 'deny', val: 'over' },
        codes: ['c'],
        annotations: [],
        actions: [],
    });
    const contract = runChild(
        [],
        "import { CONTRACT } from './warrant.js'; console.log(JSON.stringify(CONTRACT));",
    );
    assert.equal(contract, '0.3.0');
});

test('every export is declared in warrant.d.ts and testing.d.ts', async () => {
    const check = (declarations, module) => {
        for (const name of Object.keys(module)) {
            const declared = new RegExp(
                `^export declare (?:const|function|class) ${name}\\b`,
                'm',
            );
            assert.match(declarations, declared, `${name} is not declared`);
        }
    };
    check(readFileSync(join(here, 'warrant.d.ts'), 'utf8'), sdk);
    check(readFileSync(join(here, 'testing.d.ts'), 'utf8'), await import('./testing.js'));
});

/** The repository's `examples/tools.sh`, which installs tsc. */
const TOOLS = join(here, '../../examples/tools.sh');

test('the type declarations hold for a typed use (tsc --strict)', () => {
    const tsc = execFileSync('bash', ['-c', '. "$1" && tools_typescript', 'bash', TOOLS], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    // tsconfig.json: --strict --noEmit on types.test.ts, which imports the
    // package by its name; a type error fails with tsc's output.
    try {
        execFileSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.json')], {
            encoding: 'utf8',
        });
    } catch (error) {
        assert.fail(`tsc found type errors:\n${error.stdout}${error.stderr}`);
    }
});

test('the package is warrant-sdk 0.3.0, and npm installs it from its folder', () => {
    const manifest = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
    assert.equal(manifest.name, 'warrant-sdk');
    assert.equal(manifest.version, '0.3.0');
    assert.equal(manifest.type, 'module');
    assert.equal(manifest.types, './warrant.d.ts');
    for (const file of manifest.files) {
        assert.ok(existsSync(join(here, file)), `${file} is missing`);
    }
    const project = mkdtempSync(join(tmpdir(), 'warrant-sdk-'));
    try {
        writeFileSync(join(project, 'package.json'), '{"private": true, "type": "module"}\n');
        execFileSync(
            'npm',
            [
                'install',
                '--offline',
                '--no-audit',
                '--no-fund',
                '--no-package-lock',
                '--silent',
                here,
            ],
            { cwd: project, stdio: ['ignore', 'ignore', 'inherit'] },
        );
        const installed = JSON.parse(
            readFileSync(join(project, 'node_modules/warrant-sdk/package.json'), 'utf8'),
        );
        assert.equal(installed.version, '0.3.0');
        const flags = SOURCE_TEXT_FLAG ? ['--harmony-json-parse-with-source'] : [];
        const stdout = execFileSync(
            process.execPath,
            [
                ...flags,
                '--input-type=module',
                '--eval',
                `import { approve, CONTRACT } from 'warrant-sdk';
                import { context } from 'warrant-sdk/testing';
                const d = approve().withAlert('installed');
                const zone = context().usage.timezone;
                console.log(JSON.stringify([CONTRACT, d.hasAction('alert'), zone]));`,
            ],
            { cwd: project, encoding: 'utf8' },
        );
        assert.deepEqual(JSON.parse(stdout), ['0.3.0', true, 'UTC']);
    } finally {
        rmSync(project, { recursive: true, force: true });
    }
});
