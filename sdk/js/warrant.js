// Helpers for Warrant plugins written in JavaScript and built into a
// component with componentize-js: strict configuration reading with exact
// amounts, decisions, plugin errors and logging. No dependencies. See
// README.md.

import { log as hostLog } from 'warrant:policy/host@0.1.0';

// ---------------------------------------------------------------------------
// The export

/**
 * Makes a plugin's export from a function of the context and the
 * configuration, read with `fields` (see `readConfig`):
 *
 *     export const evaluate = withConfig({ maxAmountEuros: amount(2) }, (context, config) => {
 *         return approve();
 *     });
 *
 * A `PluginError` thrown by either is the plugin's error. Any other
 * exception is a bug: it is written to the host's log with its stack, then
 * traps, which the host counts as a failed rule. (Without this the message
 * would be lost: the host keeps no stderr.)
 */
export function withConfig(fields, decide) {
    return (context, configText) => {
        try {
            return decide(context, readConfig(configText, fields));
        } catch (error) {
            if (!(error instanceof PluginError)) {
                log.error(`${error}\n${error?.stack ?? ''}`.trimEnd());
            }
            throw error;
        }
    };
}

// ---------------------------------------------------------------------------
// Errors

/**
 * The plugin's own error: the host gets `err(plugin-error)` and fails the
 * rule closed, never approving. Throw it from `evaluate`, at any depth.
 */
export class PluginError extends Error {
    /**
     * @param {string} code a stable machine-readable code, e.g. `invalid-config`
     * @param {string} message for the person who wrote the configuration
     */
    constructor(code, message) {
        super(message);
        this.name = 'PluginError';
        this.code = code;
        // componentize-js makes a thrown value's own `payload` the `err` of
        // the export's `result`; any other thrown Error traps.
        this.payload = { code, message };
    }
}

/** A `PluginError` with the code `invalid-config`. */
export function invalidConfig(message) {
    return new PluginError('invalid-config', message);
}

// ---------------------------------------------------------------------------
// Decisions

/** A policy plugin's answer; build one with `approve`, `deny` or `review`. */
export class Decision {
    constructor(verdict) {
        this.verdict = verdict;
        this.codes = [];
        this.annotations = [];
    }

    /** Adds a stable machine-readable reason code, e.g. `amount-over-max`. */
    withCode(code) {
        this.codes.push(code);
        return this;
    }

    /** Adds a fact for the decision's trace, e.g. `limit` = `100.00 EUR`. */
    withAnnotation(key, value) {
        this.annotations.push({ key, value: String(value) });
        return this;
    }
}

/** The rule has no objection. */
export function approve() {
    return new Decision({ tag: 'approve' });
}

/** The rule forbids the intent, for `reason`. */
export function deny(reason) {
    return new Decision({ tag: 'deny', val: reason });
}

/** A human must look at the intent, for `reason`. */
export function review(reason) {
    return new Decision({ tag: 'review', val: reason });
}

// ---------------------------------------------------------------------------
// Configuration

/**
 * Reads a rule's configuration, the JSON text `evaluate` receives, into an
 * object with exactly the declared fields, each converted by its reader:
 *
 *     const config = readConfig(text, {
 *         maxAmountEuros: amount(2),
 *         allow: optional(strings(), []),
 *     });
 *
 * Anything else is an `invalid-config` error: a value that is not an
 * object, a missing field, a field of the wrong type, an unknown field (so
 * that a misspelt limit is refused instead of ignored).
 *
 * Numbers are read from their JSON text, never through a binary float.
 */
export function readConfig(text, fields) {
    let value;
    try {
        value = parseJson(text);
    } catch {
        throw invalidConfig('the configuration is not valid JSON');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw invalidConfig('the configuration must be a JSON object');
    }
    for (const name of Object.keys(value)) {
        if (!Object.hasOwn(fields, name)) {
            throw invalidConfig(`unknown field \`${name}\``);
        }
    }
    const config = {};
    for (const [name, read] of Object.entries(fields)) {
        config[name] = read(value[name], name);
    }
    return config;
}

/**
 * Makes a reader optional: a missing field, or `null`, gives `fallback`.
 */
export function optional(read, fallback = undefined) {
    return (value, name) => (value === undefined || value === null ? fallback : read(value, name));
}

/**
 * Reads a non-negative decimal number, such as `"maxAmountEuros": 100.5`,
 * as a BigInt of minor units with `decimals` decimals: 10050n for 2. The
 * exact value is kept whatever its size, up to 2^64 - 1 minor units (the
 * range of an intent's amount); exponents count (`1e2` is 100). More
 * decimals than `decimals`, even a zero one such as `1.001`, are an error;
 * so is a number written as a string (`"100"`).
 *
 * `amount(0)` reads a whole number, e.g. a count, as a BigInt that compares
 * directly with the counts of `context.usage`.
 */
export function amount(decimals) {
    return (value, name) => {
        required(value, name);
        if (!(value instanceof JsonNumber)) {
            throw invalidConfig(`\`${name}\` must be a number`);
        }
        const units = minorUnits(value.text, decimals);
        if (units === NEGATIVE) {
            throw invalidConfig(`\`${name}\` must not be negative`);
        }
        if (units === TOO_PRECISE) {
            throw invalidConfig(`\`${name}\` must have at most ${decimals} decimals`);
        }
        if (units === TOO_LARGE) {
            throw invalidConfig(`\`${name}\` must be at most ${decimalText(U64_MAX, decimals)}`);
        }
        return units;
    };
}

/** Reads a string. */
export function string() {
    return (value, name) => {
        required(value, name);
        if (typeof value !== 'string') {
            throw invalidConfig(`\`${name}\` must be a string`);
        }
        return value;
    };
}

/**
 * Reads a list of strings, none of them empty or blank (an empty merchant
 * or tag is a mistake, never a value to match).
 */
export function strings() {
    return (value, name) => {
        required(value, name);
        if (!Array.isArray(value)) {
            throw invalidConfig(`\`${name}\` must be a list of strings`);
        }
        // An indexed loop: lists may be long, and the engine, an
        // interpreter, runs `for…of` or callbacks at many times the cost.
        for (let i = 0; i < value.length; i++) {
            if (typeof value[i] !== 'string') {
                throw invalidConfig(`\`${name}\` must be a list of strings`);
            }
            if (value[i].trim() === '') {
                throw invalidConfig(`\`${name}\` must not contain empty strings`);
            }
        }
        return value;
    };
}

/** Reads `true` or `false`. */
export function boolean() {
    return (value, name) => {
        required(value, name);
        if (typeof value !== 'boolean') {
            throw invalidConfig(`\`${name}\` must be true or false`);
        }
        return value;
    };
}

/** A number of a configuration, as the text it was written with. */
class JsonNumber {
    constructor(text) {
        this.text = text;
    }
}

/**
 * `JSON.parse`, with every number kept as its text: a binary float cannot
 * hold 2^53 + 1, nor 0.1, exactly. The reviver gets each number's text as
 * `context.source` (the TC39 proposal "JSON.parse source text access",
 * which SpiderMonkey implements). The engine's own parser costs a fraction
 * of one written in JavaScript, which the engine would interpret character
 * by character: 100 million fuel units for 500 merchants.
 */
function parseJson(text) {
    return JSON.parse(text, (key, value, context) =>
        typeof value === 'number' ? new JsonNumber(context.source) : value,
    );
}

// Checked when the module is first evaluated, which componentize-js does
// while building the component: an engine without source text access
// fails the build instead of misreading amounts.
if (JSON.parse('0.10', (key, value, context) => context?.source) !== '0.10') {
    throw new Error('this JavaScript engine does not give JSON.parse the source text of numbers');
}

function required(value, name) {
    if (value === undefined) {
        throw invalidConfig(`missing field \`${name}\``);
    }
}

const U64_MAX = 2n ** 64n - 1n;
const NEGATIVE = Symbol('negative');
const TOO_PRECISE = Symbol('too precise');
const TOO_LARGE = Symbol('too large');
// The grammar of a JSON number, in parts: sign, whole digits, fraction
// digits, exponent.
const JSON_NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * The exact value of a JSON number's text in minor units, as a BigInt, or
 * why there is none. Works on the digits as text, so that neither a float
 * nor a huge exponent (`1e999999999`) is ever computed.
 */
function minorUnits(text, decimals) {
    const [, sign, whole, fraction = '', exponent = '0'] = JSON_NUMBER.exec(text);
    if (sign) {
        return NEGATIVE;
    }
    const digits = (whole + fraction).replace(/^0+/, '');
    if (digits === '') {
        return 0n;
    }
    // The value is `digits` × 10^shift minor units.
    const shift = Number(exponent) - fraction.length + decimals;
    let scaled;
    if (shift >= 0) {
        // 2^64 - 1 has 20 digits: more is too large without computing it.
        if (digits.length + shift > 20) {
            return TOO_LARGE;
        }
        scaled = digits + '0'.repeat(shift);
    } else {
        // Digits below the minor unit must all be zeros.
        if (-shift >= digits.length || !/^0*$/.test(digits.slice(shift))) {
            return TOO_PRECISE;
        }
        scaled = digits.slice(0, shift);
    }
    const units = BigInt(scaled);
    return units > U64_MAX ? TOO_LARGE : units;
}

// ---------------------------------------------------------------------------
// Text

/**
 * Formats minor units as money: `formatMoney(10050n)` is `100.50 EUR`,
 * `formatMoney(5000n, 'JPY', 0)` is `5000 JPY`.
 */
export function formatMoney(minorUnits, currency = 'EUR', decimals = 2) {
    return `${decimalText(BigInt(minorUnits), decimals)} ${currency}`;
}

function decimalText(minorUnits, decimals) {
    if (decimals === 0) {
        return minorUnits.toString();
    }
    const digits = minorUnits.toString().padStart(decimals + 1, '0');
    return `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
}

/**
 * Lowercases the ASCII letters A-Z only. `String.prototype.toLowerCase`
 * also folds other scripts (`Ü` to `ü`) according to Unicode, which is
 * not how merchants or domain names are compared.
 */
export function asciiLowercase(text) {
    // On ASCII text `toLowerCase` folds exactly A-Z, natively and fast;
    // only other text takes the slower replacement of each run of capitals.
    if (ASCII.test(text)) {
        return text.toLowerCase();
    }
    return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

const ASCII = /^[\x00-\x7f]*$/;

/** Whether two strings are equal when ASCII letters A-Z are lowercased. */
export function equalsIgnoreAsciiCase(a, b) {
    // Strings equal but for ASCII letter case are also equal after the
    // native `toLowerCase`, which quickly rules out most other pairs.
    return (
        a.length === b.length &&
        a.toLowerCase() === b.toLowerCase() &&
        asciiLowercase(a) === asciiLowercase(b)
    );
}

// ---------------------------------------------------------------------------
// Logging

/**
 * Writes to the host's log and the decision's trace; lines are capped in
 * number and length, and never change the decision.
 */
export const log = {
    debug: (message) => hostLog('debug', message),
    info: (message) => hostLog('info', message),
    warn: (message) => hostLog('warn', message),
    error: (message) => hostLog('error', message),
};
