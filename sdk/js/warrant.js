// Helpers for Warrant plugins written in JavaScript and built into a
// component with componentize-js: strict configuration reading with exact
// amounts, decisions and the actions they ask for, plugin errors and
// logging. No dependencies. See README.md.
//
// The SDK targets WIT 0.3.0 (`warrant:policy@0.3.0`). `#host`, mapped in
// package.json, is the host's interface of the contract the plugin is
// built against: 0.3.0 by default, 0.1.0 when the bundler is given the
// condition `warrant-0.1.0` (esbuild `--conditions=warrant-0.1.0`), and a
// stand-in that keeps log lines on Node.js, for unit tests.

import { CONTRACT, log as hostLog } from '#host';

/**
 * The version of the WIT contract the plugin is built against, `0.3.0`
 * or `0.1.0`: the context of a 0.1.0 plugin lacks the fields 0.2.0 and
 * 0.3.0 added (`agent.baseline`, `usage.timezone`, the flagged counts of
 * `usage`, `charge`), and its decisions carry no actions.
 */
export { CONTRACT };

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

/** The kind of action that asks the host to suspend the agent. */
export const SUSPEND_AGENT = 'suspend-agent';

/** The kind of action that asks the host to record an alert event for the agent. */
export const ALERT = 'alert';

/** A policy plugin's answer; build one with `approve`, `deny` or `review`. */
export class Decision {
    constructor(verdict) {
        this.verdict = verdict;
        this.codes = [];
        this.annotations = [];
        this.actions = [];
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

    /**
     * Asks the host to suspend the agent, saying why. The host does so in
     * the transaction that records the intent, unless the rule is in
     * monitor mode or the evaluation is a dry run.
     */
    withSuspendAgent(reason) {
        return this.withAction(SUSPEND_AGENT, reason);
    }

    /** Asks the host to record an alert event for the agent. */
    withAlert(message) {
        return this.withAction(ALERT, message);
    }

    /**
     * Asks the host for an action of any kind; the host ignores (and
     * traces) kinds it does not know. A plugin built against WIT 0.1.0,
     * whose decisions carry no actions, throws an `Error` instead: a bug,
     * which `withConfig` logs before trapping, never an action dropped
     * without a word.
     */
    withAction(kind, message) {
        if (CONTRACT === '0.1.0') {
            throw new Error(
                `a decision cannot ask for the action \`${kind}\`: this plugin is built ` +
                    'against WIT 0.1.0 (warrant:policy@0.1.0), whose decisions carry no ' +
                    'actions; build it against 0.3.0',
            );
        }
        if (typeof kind !== 'string' || typeof message !== 'string') {
            throw new TypeError('an action\'s kind and message must be strings');
        }
        this.actions.push({ kind, message });
        return this;
    }

    /** Whether the decision asks for an action of `kind`. */
    hasAction(kind) {
        for (let i = 0; i < this.actions.length; i++) {
            if (this.actions[i].kind === kind) {
                return true;
            }
        }
        return false;
    }

    /** The value of the first annotation named `key`, or `undefined`. */
    annotation(key) {
        for (let i = 0; i < this.annotations.length; i++) {
            if (this.annotations[i].key === key) {
                return this.annotations[i].value;
            }
        }
        return undefined;
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
 *         reviewAboveEuros: optional(amount(2)),
 *         allow: defaulted(strings(), []),
 *     });
 *
 * Anything else is an `invalid-config` error: text that is not JSON (a lone
 * surrogate escape such as `"\ud800"` included, as in Rust's parser), a
 * value that is not an object, a key given twice in any object, a missing
 * field, a field of the wrong type, an unknown field (so that a misspelt
 * limit is refused instead of ignored).
 *
 * A reader is any function `(value, name)` that returns the field's value
 * or throws `invalidConfig(…)`. It gets the value as parsed, numbers as
 * their JSON text (never a float), and `undefined` for a field the
 * configuration lacks.
 */
export function readConfig(text, fields) {
    let parsed;
    try {
        parsed = parseJson(text);
    } catch {
        throw invalidConfig('the configuration is not valid JSON');
    }
    if (parsed.repeated) {
        const name = repeatedKey(text);
        throw invalidConfig(
            name === undefined ? 'a key is given twice' : `field \`${name}\` is given twice`,
        );
    }
    const value = parsed.value;
    if (
        value === null ||
        typeof value !== 'object' ||
        Array.isArray(value) ||
        value instanceof JsonNumber
    ) {
        throw invalidConfig('the configuration must be a JSON object');
    }
    for (const name of Object.keys(value)) {
        if (!Object.hasOwn(fields, name)) {
            throw invalidConfig(`unknown field \`${name}\``);
        }
    }
    const config = {};
    for (const [name, read] of Object.entries(fields)) {
        // Own fields only: a missing `toString` is missing, not the
        // prototype's function.
        config[name] = read(Object.hasOwn(value, name) ? value[name] : undefined, name);
    }
    return config;
}

/**
 * Makes a reader optional, for a value that may be absent, like Rust's
 * `Option`: a missing field, or `null`, gives `fallback` (`undefined`
 * unless given). For a field with a default value, such as a list that is
 * empty unless given, use `defaulted`.
 */
export function optional(read, fallback = undefined) {
    return (value, name) => (value === undefined || value === null ? fallback : read(value, name));
}

/**
 * Gives a field a default value: a missing field gives `fallback`, and
 * anything written, `null` included, goes to `read`, which refuses what it
 * does not accept (every reader of this module refuses `null`). Like
 * Rust's `#[serde(default)]`: `"allow": null` is a mistake, not an empty
 * list. `fallback` itself is returned, not a copy.
 */
export function defaulted(read, fallback) {
    return (value, name) => (value === undefined ? fallback : read(value, name));
}

/**
 * Reads a non-negative decimal number, such as `"maxAmountEuros": 100.5`,
 * as a BigInt of minor units with `decimals` decimals: 10050n for 2. The
 * exact value is kept whatever its size, up to 2^64 - 1 minor units (the
 * range of an intent's amount); exponents count (`1e2` is 100), and so do
 * trailing zeros (`1.000` is 100n for 2). A digit other than zero below
 * the minor unit is an error (`1.001` for 2); so is a negative number, `-0`
 * included, and a number written as a string (`"100"`).
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

/**
 * Reads a whole number written as one, as Rust's integer types read JSON:
 * `30`, not `30.0`, `3e1`, `-1` or `"30"`, as a BigInt from 0 to `max`
 * (2^64 - 1 unless given). For a count or a score; `amount(0)` also takes
 * `30.0` and `3e1`.
 */
export function integer(max = U64_MAX) {
    return (value, name) => {
        required(value, name);
        if (!(value instanceof JsonNumber)) {
            throw invalidConfig(`\`${name}\` must be a number`);
        }
        if (value.text.startsWith('-')) {
            throw invalidConfig(`\`${name}\` must not be negative`);
        }
        if (!DIGITS.test(value.text)) {
            throw invalidConfig(
                `\`${name}\` must be a whole number, without a fraction or exponent`,
            );
        }
        const number = BigInt(value.text);
        if (number > max) {
            throw invalidConfig(`\`${name}\` must be at most ${max}`);
        }
        return number;
    };
}

const DIGITS = /^\d+$/;

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
 * Reads a list of strings, none of them blank: empty, or of white space
 * only (an empty merchant or tag is a mistake, never a value to match).
 * White space is Unicode's White_Space, as Rust's `str::trim` removes it:
 * U+0009 to U+000D, U+0020, U+0085, U+00A0, U+1680, U+2000 to U+200A,
 * U+2028, U+2029, U+202F, U+205F and U+3000. Not U+FEFF, which
 * `String.prototype.trim` also removes, and not U+001C to U+001F.
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
            const item = value[i];
            if (typeof item !== 'string') {
                throw invalidConfig(`\`${name}\` must be a list of strings`);
            }
            // Most strings start with a character that is never white
            // space: printable ASCII, U+00A1 to U+167F (Latin letters to
            // Indic scripts) or above U+3000 (CJK and beyond). Comparing
            // strings tells, inline; a call costs many times more in the
            // interpreter, so the regular expression is left for the rest.
            const surelyNotBlank =
                (item >= '!' && item < '\x85') ||
                (item >= '\xa1' && item < '\u1680') ||
                item >= '\u3001';
            if (!surelyNotBlank && isBlank(item)) {
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
 *
 * Two things `JSON.parse` lets pass are caught here, as Rust's parser
 * catches them. A string or key holding a lone surrogate (`"\ud800"`)
 * throws. A key given twice in one object, of which `JSON.parse` keeps
 * the last, sets `repeated`: the reviver counts the keys of the parsed
 * objects, and `hasRepeatedKey` compares them with the text's.
 */
function parseJson(text) {
    // Only a `\u` escape makes a lone surrogate in text that has none.
    const mayHaveLoneSurrogate = text.includes('\\u') || !text.isWellFormed();
    let keys = 0;
    const value = JSON.parse(text, (key, value, context) => {
        switch (typeof value) {
            case 'number':
                return new JsonNumber(context.source);
            case 'string':
                if (mayHaveLoneSurrogate && !value.isWellFormed()) {
                    throw new SyntaxError('a lone surrogate');
                }
                return value;
            case 'object':
                if (value !== null && !Array.isArray(value)) {
                    const names = Object.keys(value);
                    keys += names.length;
                    // Joined with a comma, so that a lone surrogate ending
                    // one key and one starting the next make no pair.
                    if (mayHaveLoneSurrogate && !names.join(',').isWellFormed()) {
                        throw new SyntaxError('a lone surrogate');
                    }
                }
                return value;
            default:
                return value;
        }
    });
    return { value, repeated: hasRepeatedKey(text, keys) };
}

/**
 * Whether the JSON text `text` has more keys than `keys`, the number its
 * parsed objects have: then a key is given twice in one object. The text
 * has at least as many colons as keys, and most configurations no colon
 * inside a string, so counting colons (natively) usually settles it.
 */
function hasRepeatedKey(text, keys) {
    if (text.split(':').length - 1 === keys) {
        return false;
    }
    return keysWritten(text) !== keys;
}

/**
 * How many keys the JSON text `text` has. Split at its quotes, the text
 * alternates between the outside and the inside of strings, except where
 * a backslash escapes a quote, which continues the string. A key is a
 * string followed by a colon, so each part outside strings holds at most
 * one colon, and does when it follows a key.
 */
function keysWritten(text) {
    const parts = text.split('"');
    const hasBackslash = text.includes('\\');
    let keys = 0;
    for (let i = 0; i < parts.length; i += 2) {
        if (parts[i].includes(':')) {
            keys++;
        }
        // parts[i + 1] is inside a string: while it ends with a backslash
        // that escapes the quote after it, so is the part after that.
        while (hasBackslash && i + 1 < parts.length && endsWithEscape(parts[i + 1])) {
            i++;
        }
    }
    return keys;
}

/** Whether `part` ends with an odd number of backslashes. */
function endsWithEscape(part) {
    return part.endsWith('\\') && ODD_BACKSLASHES_AT_END.test(part);
}

const ODD_BACKSLASHES_AT_END = /(?:^|[^\\])(?:\\\\)*\\$/;

/**
 * The first key given twice in one object of the JSON text `text`, or
 * `undefined`. Much slower than `hasRepeatedKey`: used only to name the
 * key in the error.
 */
function repeatedKey(text) {
    // A key (a string, then a colon), another string, or a brace. In JSON
    // text the first quote opens a string, and the next quote after one
    // opens the next.
    const string = '"[^"\\\\]*(?:\\\\.[^"\\\\]*)*"';
    const tokens = new RegExp(`(${string})\\s*:|${string}|[{}]`, 'g');
    const objects = [];
    let match;
    while ((match = tokens.exec(text)) !== null) {
        const [token, key] = match;
        if (token === '{') {
            objects.push(new Set());
        } else if (token === '}') {
            objects.pop();
        } else if (key !== undefined) {
            const name = JSON.parse(key);
            const names = objects[objects.length - 1];
            if (names.has(name)) {
                return name;
            }
            names.add(name);
        }
    }
    return undefined;
}

// Checked when the module is first evaluated, which componentize-js does
// while building the component: an engine without source text access, or
// without `isWellFormed`, fails the build instead of misreading amounts or
// refusing every configuration.
if (JSON.parse('0.10', (key, value, context) => context?.source) !== '0.10') {
    throw new Error('this JavaScript engine does not give JSON.parse the source text of numbers');
}
if (typeof String.prototype.isWellFormed !== 'function') {
    throw new Error('this JavaScript engine lacks String.prototype.isWellFormed');
}

function required(value, name) {
    if (value === undefined) {
        throw invalidConfig(`missing field \`${name}\``);
    }
}

/**
 * Whether `text` starts with a character that is never white space:
 * printable ASCII, U+00A1 to U+167F or above U+3000 (as in `strings`).
 */
function isSurelyNotBlank(text) {
    return (
        (text >= '!' && text < '\x85') || (text >= '\xa1' && text < '\u1680') || text >= '\u3001'
    );
}

/** Whether `text` is empty or all white space, as `strings` defines it. */
function isBlank(text) {
    return BLANK.test(text);
}

const BLANK = /^[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;

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
 * `text` without leading and trailing white space, as Rust's `str::trim`
 * removes it: Unicode's White_Space, as `strings` defines blank. Not
 * U+FEFF, which `String.prototype.trim` also removes; U+0085 included,
 * which it keeps.
 */
export function trim(text) {
    // Most text neither starts nor ends with white space, which string
    // comparisons tell for less than the regular expression costs.
    if (text === '' || (isSurelyNotBlank(text) && isSurelyNotBlank(text[text.length - 1]))) {
        return text;
    }
    return text.replace(EDGE_WHITE_SPACE, '');
}

const EDGE_WHITE_SPACE =
    /^[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

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
