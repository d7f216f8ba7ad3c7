// Types of `warrant-sdk` (warrant.js), and of WIT 0.3.0
// (`warrant:policy@0.3.0`, wit/0.3.0/warrant.wit) as componentize-js
// hands it to a plugin: the context's fields in camelCase, `u64` and `s64`
// as bigint, `u8` and `u32` as number, `list<u8>` as Uint8Array, an absent
// option as `undefined`, a variant as `{tag, val}`, an enum as its case's
// name.

// ---------------------------------------------------------------------------
// The context

/** A point in time, UTC. */
export interface Timestamp {
    /** Whole seconds since 1970-01-01T00:00:00Z (negative before it). */
    seconds: bigint;
    /** Nanoseconds past `seconds`, 0 to 999,999,999. */
    nanoseconds: number;
}

/** An amount of money, never a float. */
export interface Money {
    /** The amount in the currency's minor units: 451n for 4.51 EUR. */
    minorUnits: bigint;
    /** The ISO 4217 code, upper case, e.g. `EUR`. */
    currency: string;
}

/** How often a recurring intent charges. */
export type Cadence = 'daily' | 'weekly' | 'monthly' | 'yearly';

/** The terms of an intent that authorizes a series of charges. */
export interface RecurringTerms {
    cadence: Cadence;
    /** A charge may come this many days before its due date. */
    windowStartDaysBefore: number;
    /** A charge may come this many days after its due date. */
    windowEndDaysAfter: number;
    /** How far a charge may deviate from the expected amount, in basis points. */
    amountToleranceBps: number;
    /** Whether every charge must come from the intent's merchant. */
    merchantMatch: boolean;
}

/** The card an intent is to be paid with: its id or its name. */
export type Card = { tag: 'id'; val: string } | { tag: 'name'; val: string };

/** What an agent declares it wants to pay. */
export interface Intent {
    /** `int_…`; empty in a dry run that stores nothing. */
    id: string;
    amount: Money | undefined;
    /** Usually a domain such as `hetzner.com`. */
    merchant: string | undefined;
    card: Card;
    purpose: string;
    recurring: RecurringTerms | undefined;
    clientIntentId: string | undefined;
    ttlMinutes: number;
}

export type AgentStatus = 'active' | 'frozen' | 'suspended' | 'archived';

export type AgentType = 'autonomous' | 'supervised' | 'advisory' | 'mcp-server';

/** What the agent is for, as its tenant described it. */
export interface AgentProfile {
    purpose: string;
    framework: string | undefined;
    capabilities: string[];
    description: string | undefined;
    department: string | undefined;
    ownerContact: string | undefined;
}

/** What is usual for an agent (WIT 0.2.0 and later). */
export interface Baseline {
    /** The currency of the amounts below. */
    currency: string;
    /** The mean amount of the agent's intents, in minor units. */
    amountMean: bigint;
    /** The standard deviation of those amounts, in minor units. */
    amountStdDev: bigint;
    intentsPerDay: number;
    /** Hours of the day (0 to 23, UTC) the agent is usually active in. */
    activeHours: Uint8Array;
    /** Merchants (lower case) the agent usually pays. */
    merchants: string[];
    setAt: Timestamp;
}

/** The agent that declared the intent. */
export interface Agent {
    /** `ag_…`. */
    id: string;
    name: string;
    status: AgentStatus;
    agentType: AgentType;
    profile: AgentProfile;
    tags: string[];
    /** The text of a JSON object, `{}` when none. */
    metadata: string;
    /** None until the tenant sets one. */
    baseline: Baseline | undefined;
}

/** How many intents an agent declared in a window, and what they spend. */
export interface WindowUsage {
    count: bigint;
    /** In minor units of `Usage.currency`. */
    spend: bigint;
    /** Those of the intents whose reported settlement was flagged (WIT 0.3.0). */
    flaggedCount: bigint;
    /** What the flagged intents declared, in minor units (WIT 0.3.0). */
    flaggedSpend: bigint;
}

/** The agent's recent activity, before the intent being decided. */
export interface Usage {
    /** The currency spends are counted in. */
    currency: string;
    /** The IANA time zone of the calendar windows, `UTC` unless the policy names one. */
    timezone: string;
    lastMinute: WindowUsage;
    lastHour: WindowUsage;
    lastDay: WindowUsage;
    lastWeek: WindowUsage;
    lastMonth: WindowUsage;
    calendarDay: WindowUsage;
    calendarMonth: WindowUsage;
    merchantLastMonth: WindowUsage;
}

/** One factor behind a risk score. */
export interface Signal {
    name: string;
    /** 0 to 100. */
    score: number;
    detail: string;
}

/** The combined answer of a policy's risk plugins. */
export interface RiskSummary {
    /** The highest score, 0 to 100. */
    score: number;
    signals: Signal[];
}

/** A charge reported against a recurring intent (WIT 0.2.0 and later). */
export interface Charge {
    amount: Money;
    /** Who charged it, as reported. */
    merchant: string;
    at: Timestamp;
    /** When the series began: the time the intent was declared. */
    seriesStart: Timestamp;
    /** The series' earlier accepted charges, oldest first. */
    previous: Timestamp[];
}

/**
 * Everything a plugin knows when it decides. A plugin built against WIT
 * 0.1.0 gets no `agent.baseline`, `usage.timezone`, flagged counts or
 * `charge`: they are `undefined` there.
 */
export interface Context {
    intent: Intent;
    agent: Agent;
    usage: Usage;
    /** None for risk plugins and for policies without risk plugins. */
    risk: RiskSummary | undefined;
    /** The time of the decision. Use this, never a clock. */
    now: Timestamp;
    /** Present when the policy's charge rules check a charge of the recurring intent. */
    charge: Charge | undefined;
}

// ---------------------------------------------------------------------------
// Answers

/** What a policy rule says about an intent. */
export type Verdict =
    | { tag: 'approve' }
    | { tag: 'deny'; val: string }
    | { tag: 'review'; val: string };

/** A fact for the decision's trace. */
export interface Annotation {
    key: string;
    value: string;
}

/** Something a decision asks the host to do: `suspend-agent` or `alert`. */
export interface Action {
    kind: string;
    message: string;
}

/** The kind of action that asks the host to suspend the agent. */
export declare const SUSPEND_AGENT: 'suspend-agent';

/** The kind of action that asks the host to record an alert event for the agent. */
export declare const ALERT: 'alert';

/** A policy plugin's answer; build one with `approve`, `deny` or `review`. */
export declare class Decision {
    constructor(verdict: Verdict);
    verdict: Verdict;
    codes: string[];
    annotations: Annotation[];
    actions: Action[];
    /** Adds a stable machine-readable reason code, e.g. `amount-over-max`. */
    withCode(code: string): this;
    /** Adds a fact for the trace; `value` is turned into text with `String`. */
    withAnnotation(key: string, value: unknown): this;
    /** Asks the host to suspend the agent. Throws under WIT 0.1.0. */
    withSuspendAgent(reason: string): this;
    /** Asks the host to record an alert event for the agent. Throws under WIT 0.1.0. */
    withAlert(message: string): this;
    /** Asks the host for an action of any kind. Throws under WIT 0.1.0. */
    withAction(kind: string, message: string): this;
    /** Whether the decision asks for an action of `kind`. */
    hasAction(kind: string): boolean;
    /** The value of the first annotation named `key`. */
    annotation(key: string): string | undefined;
}

/** The rule has no objection. */
export declare function approve(): Decision;

/** The rule forbids the intent, for `reason`. */
export declare function deny(reason: string): Decision;

/** A human must look at the intent, for `reason`. */
export declare function review(reason: string): Decision;

/** A risk plugin's answer. */
export interface Assessment {
    /** 0 (none) to 100 (certain fraud). */
    score: number;
    signals: Signal[];
}

/** The version of the WIT contract the plugin is built against. */
export declare const CONTRACT: '0.3.0' | '0.1.0';

// ---------------------------------------------------------------------------
// Errors

/** The plugin's own error: the host fails the rule closed. */
export declare class PluginError extends Error {
    constructor(code: string, message: string);
    /** A stable machine-readable code, e.g. `invalid-config`. */
    code: string;
    /** What componentize-js turns into the export's `err`. */
    payload: { code: string; message: string };
}

/** A `PluginError` with the code `invalid-config`. */
export declare function invalidConfig(message: string): PluginError;

// ---------------------------------------------------------------------------
// Configuration

/**
 * Reads one field of a configuration: gets the value as parsed (numbers
 * as an opaque object holding their text; `undefined` for a missing
 * field) and its name; returns what the field holds or throws
 * `invalidConfig(…)`.
 */
export type Reader<T> = (value: unknown, name: string) => T;

/** The declared fields of a configuration, each with its reader. */
export type Fields = Record<string, Reader<unknown>>;

/** The configuration `readConfig` gives for `fields`. */
export type Config<F extends Fields> = { [K in keyof F]: ReturnType<F[K]> };

/** Reads a rule's configuration, JSON text, into exactly the declared fields. */
export declare function readConfig<F extends Fields>(text: string, fields: F): Config<F>;

/**
 * Makes a plugin's export (`evaluate`, or `assess` for a risk plugin) from
 * a function of the context and the configuration read with `fields`.
 */
export declare function withConfig<F extends Fields, R extends Decision | Assessment>(
    fields: F,
    decide: (context: Context, config: Config<F>) => R,
): (context: Context, config: string) => R;

/** A field that may be missing or `null`: `undefined` then. */
export declare function optional<T>(read: Reader<T>): Reader<T | undefined>;
/** A field that may be missing or `null`: `fallback` then. */
export declare function optional<T>(read: Reader<T>, fallback: T): Reader<T>;

/** A field that may be missing: `fallback` then; `null` goes to `read`. */
export declare function defaulted<T>(read: Reader<T>, fallback: T): Reader<T>;

/** A non-negative decimal number as a bigint of minor units with `decimals` decimals. */
export declare function amount(decimals: number): Reader<bigint>;

/** A whole number written as one (`30`, not `30.0`), from 0 to `max` (2^64 - 1). */
export declare function integer(max?: bigint): Reader<bigint>;

/** A string. */
export declare function string(): Reader<string>;

/** A list of strings, none of them blank. */
export declare function strings(): Reader<string[]>;

/** `true` or `false`. */
export declare function boolean(): Reader<boolean>;

// ---------------------------------------------------------------------------
// Text

/** `formatMoney(10050n)` is `100.50 EUR`; `formatMoney(5000n, 'JPY', 0)` is `5000 JPY`. */
export declare function formatMoney(
    minorUnits: bigint | number,
    currency?: string,
    decimals?: number,
): string;

/** `text` without leading and trailing white space, as Rust's `str::trim` removes it. */
export declare function trim(text: string): string;

/** Lowercases the ASCII letters A-Z only. */
export declare function asciiLowercase(text: string): string;

/** Whether two strings are equal when ASCII letters A-Z are lowercased. */
export declare function equalsIgnoreAsciiCase(a: string, b: string): boolean;

// ---------------------------------------------------------------------------
// Logging

/** The levels of the host's log. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Writes to the host's log and the decision's trace. */
export declare const log: {
    debug(message: string): void;
    info(message: string): void;
    warn(message: string): void;
    error(message: string): void;
};
