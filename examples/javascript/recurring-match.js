// `recurring-match`, Warrant's built-in plugin (plugins/recurring-match), in
// JavaScript: checks each charge reported against a recurring intent: that
// it comes in the window of a due date, once per due date, for about the
// expected amount, from the intent's merchant.
//
// Configuration: `{}`. The terms are the intent's own (`intent.recurring`).
//
// When an intent is being declared (`context.charge` is absent) the rule
// approves, annotating `recurring` with the cadence (`monthly`) or `no`.
//
// When a charge is being checked:
//
// - an intent without recurring terms: deny (`not-recurring`).
// - Dates are whole days in the policy's time zone, `usage.timezone`. The
//   engine componentize-js embeds has no time zone database (no `Intl`), so
//   this plugin knows `UTC` only (an empty name is UTC too); any other zone
//   is the plugin's error `unknown-timezone`, never a date computed in the
//   wrong zone. The series starts on the date it was declared, and a charge
//   falls on the date it was made.
// - Due dates: due(k) = the series' first date plus k periods, for
//   k = 0, 1, 2, …: k days (daily), 7k days (weekly), k months on the same
//   day of the month (monthly), k years (yearly). A day past the end of a
//   month is clamped to its last day: a series started on 31 January is
//   due on 28 (or 29) February and on 31 March; one started on 29
//   February is due on 28 February in common years.
// - The window of due(k) runs from `windowStartDaysBefore` days before it
//   to `windowEndDaysAfter` days after it, both days included: with both
//   at 0 (the default), a charge at any time of the due date is in it. A
//   charge in several windows belongs to the one whose due date is
//   nearest.
// - The calendar ends with the year 9999: a series has no due dates after
//   it.
//
// A charge is flagged, with every code that applies, in this order:
//
// - `outside-window`: it is in no window (the reason names the nearest
//   due date); this includes any charge before the first window;
// - `duplicate-charge`: an earlier accepted charge (`charge.previous`) is
//   in the same window;
// - `no-amount`: the intent has no amount to compare with;
// - `currency-mismatch`: the charge is in another currency than the
//   intent's amount;
// - `amount-beyond-tolerance`: |charge − expected| × 10 000 > expected ×
//   `amountToleranceBps`;
// - `merchant-mismatch`: the terms require the intent's merchant and the
//   charge comes from another one (ignoring letter case), or the intent
//   names none.
//
// A flagged charge is denied; any other is approved. When the charge is in
// a window, the decision is annotated with the period k (`period`) and its
// due date (`dueDate`, `YYYY-MM-DD`).
//
// Instants are BigInts of nanoseconds since 1970, as the Rust plugin's
// i128: a timestamp's seconds span the whole s64 range.

import {
    CONTRACT,
    PluginError,
    approve,
    deny,
    equalsIgnoreAsciiCase,
    formatMoney,
    trim,
    withConfig,
} from 'warrant-sdk';

// Evaluated while the component is built: a build against WIT 0.1.0, whose
// context has no charges, fails instead of approving every check.
if (CONTRACT === '0.1.0') {
    throw new Error(
        'recurring-match checks charges, which WIT 0.1.0 lacks: build it against 0.3.0',
    );
}

/** The rule's configuration: nothing. */
const CONFIG = {};

const NANOS_PER_SECOND = 1_000_000_000n;

/** Nanoseconds in a day. */
const DAY = 86_400n * NANOS_PER_SECOND;

// The instants the calendar holds, as the Rust plugin's (jiff's
// `Timestamp`): from -9999-01-02T01:59:59Z to 9999-12-30T22:00:00.999999999Z,
// so that every UTC offset up to 25:59:59 keeps them within the years -9999
// to 9999.
const MIN_NANOS = -377_705_023_201n * NANOS_PER_SECOND;
const MAX_NANOS = 253_402_207_200n * NANOS_PER_SECOND + 999_999_999n;

// The longest spans jiff adds: 19,998 years, in months or years.
const MAX_MONTHS = 239_976n;
const MAX_YEARS = 19_998n;

function decide(context) {
    const terms = context.intent.recurring;
    const charge = context.charge;
    if (charge === undefined) {
        return approve().withAnnotation('recurring', terms === undefined ? 'no' : terms.cadence);
    }
    if (terms === undefined) {
        return deny(
            'the intent is not recurring, so no charge can be accepted against it',
        ).withCode('not-recurring');
    }

    checkTimeZone(context.usage.timezone);
    const series = new Series(terms.cadence, dayOf(nanos(charge.seriesStart)));
    const before = BigInt(terms.windowStartDaysBefore) * DAY;
    const after = BigInt(terms.windowEndDaysAfter) * DAY;
    const at = dayOf(nanos(charge.at));

    const codes = [];
    const reasons = [];
    const period = series.windowContaining(at, before, after);
    if (period === undefined) {
        const nearest = series.nearest(at);
        codes.push('outside-window');
        reasons.push(
            `the charge on ${date(at)} falls in no window of the ${terms.cadence} series; ` +
                `the nearest due date is ${date(nearest)}, and a charge may come from ` +
                `${days(terms.windowStartDaysBefore)} before to ` +
                `${days(terms.windowEndDaysAfter)} after a due date`,
        );
    } else {
        const [k, due] = period;
        const from = due - before;
        const to = due + after;
        const previous = charge.previous;
        for (let i = 0; i < previous.length; i++) {
            const day = dayOf(nanos(previous[i]));
            if (from <= day && day <= to) {
                codes.push('duplicate-charge');
                reasons.push(
                    `a charge on ${date(day)} was already accepted for the payment due ` +
                        `${date(due)} (period ${k})`,
                );
                break;
            }
        }
    }

    const expected = context.intent.amount;
    if (expected === undefined) {
        codes.push('no-amount');
        reasons.push('the intent has no amount, so the charge\'s amount cannot be checked');
    } else if (!equalsIgnoreAsciiCase(expected.currency, charge.amount.currency)) {
        codes.push('currency-mismatch');
        reasons.push(
            `the charge is in ${charge.amount.currency} and the intent in ${expected.currency}`,
        );
    } else {
        const charged = charge.amount.minorUnits;
        const diff =
            charged > expected.minorUnits
                ? charged - expected.minorUnits
                : expected.minorUnits - charged;
        const bps = terms.amountToleranceBps;
        if (diff * 10_000n > expected.minorUnits * BigInt(bps)) {
            const currency = expected.currency;
            const tolerance = (expected.minorUnits * BigInt(bps)) / 10_000n;
            const percent = `${Math.floor(bps / 100)}.${String(bps % 100).padStart(2, '0')}%`;
            codes.push('amount-beyond-tolerance');
            reasons.push(
                `the charge of ${money(charged, currency)} differs from the expected ` +
                    `${money(expected.minorUnits, currency)} by ${money(diff, currency)}, ` +
                    `more than the tolerance of ${percent} (${money(tolerance, currency)})`,
            );
        }
    }

    if (terms.merchantMatch) {
        const chargedBy = trim(charge.merchant);
        const merchant = context.intent.merchant;
        if (merchant === undefined) {
            codes.push('merchant-mismatch');
            reasons.push(
                `the charge comes from \`${chargedBy}\` and the intent names no merchant to ` +
                    'match it with',
            );
        } else {
            const expectedMerchant = trim(merchant);
            // Letter case of any script, as Rust's `to_lowercase`.
            if (expectedMerchant.toLowerCase() !== chargedBy.toLowerCase()) {
                codes.push('merchant-mismatch');
                reasons.push(
                    `the charge comes from \`${chargedBy}\`, not from the intent's merchant ` +
                        `\`${expectedMerchant}\``,
                );
            }
        }
    }

    let decision;
    if (codes.length === 0) {
        decision = approve();
    } else {
        decision = deny(reasons.join('; '));
        for (let i = 0; i < codes.length; i++) {
            decision.withCode(codes[i]);
        }
    }
    if (period !== undefined) {
        decision.withAnnotation('period', period[0]).withAnnotation('dueDate', date(period[1]));
    }
    return decision;
}

/**
 * Accepts the policy's time zone when it is UTC (or empty, as UTC): the
 * engine has no time zone database to find the dates of any other zone in.
 */
function checkTimeZone(name) {
    if (name === undefined || name === '' || name === 'UTC') {
        return;
    }
    throw new PluginError(
        'unknown-timezone',
        `the policy's time zone \`${name}\` is unknown to this plugin, which computes dates ` +
            'in UTC only: the JavaScript engine it is built with has no time zone database',
    );
}

/**
 * The date `instant` falls on in UTC, as its midnight (so that dates
 * compare and add as instants do); instants beyond the calendar, and the
 * first hours of its first day, stay as they are.
 */
function dayOf(instant) {
    if (instant < MIN_NANOS || instant > MAX_NANOS) {
        return instant;
    }
    const midnight = floorDiv(instant, DAY) * DAY;
    return midnight < MIN_NANOS ? instant : midnight;
}

/**
 * The due dates of a series, as nanoseconds since 1970 of each date's
 * midnight in UTC.
 */
class Series {
    constructor(cadence, start) {
        this.cadence = cadence;
        /** due(0). */
        this.start = start;
        /**
         * due(0) as a civil date and time in UTC, for months and years;
         * undefined beyond the calendar.
         */
        this.civil = MIN_NANOS <= start && start <= MAX_NANOS ? civil(start) : undefined;
    }

    /** due(k), for a BigInt k; undefined after the year 9999, where a series ends. */
    due(k) {
        if (k === 0n) {
            return this.start;
        }
        switch (this.cadence) {
            case 'daily':
                return onCalendar(this.start + k * DAY);
            case 'weekly':
                return onCalendar(this.start + k * 7n * DAY);
            default: {
                const start = this.civil;
                if (start === undefined) {
                    return undefined;
                }
                let year;
                let month;
                if (this.cadence === 'monthly') {
                    if (k > MAX_MONTHS) {
                        return undefined;
                    }
                    const months = start.month - 1 + Number(k);
                    year = start.year + Math.floor(months / 12);
                    month = (months % 12) + 1;
                } else {
                    if (k > MAX_YEARS) {
                        return undefined;
                    }
                    year = start.year + Number(k);
                    month = start.month;
                }
                if (year > 9999) {
                    return undefined;
                }
                const day = Math.min(start.day, daysInMonth(year, month));
                const due = BigInt(daysFromCivil(year, month, day)) * DAY + start.time;
                return due < MIN_NANOS || due > MAX_NANOS ? undefined : due;
            }
        }
    }

    /** The last period due at or before `t`; undefined before the series. */
    lastDueBy(t) {
        if (t < this.start) {
            return undefined;
        }
        // No due date but the first comes after the calendar's end.
        const end = MAX_NANOS > this.start ? MAX_NANOS : this.start;
        if (t > end) {
            t = end;
        }
        const elapsed = t - this.start;
        switch (this.cadence) {
            case 'daily':
                return elapsed / DAY;
            case 'weekly':
                return elapsed / (7n * DAY);
            default: {
                const start = this.civil;
                if (start === undefined) {
                    // Only due(0) is on the calendar.
                    return 0n;
                }
                const then = civil(t);
                const years = then.year - start.year;
                const estimate =
                    this.cadence === 'monthly' ? years * 12 + then.month - start.month : years;
                // The estimate is the period due in the same month (or
                // year) as `t`, which is at most one period late.
                let k = estimate > 0 ? BigInt(estimate) : 0n;
                while (k > 0n) {
                    const due = this.due(k);
                    if (due !== undefined && due <= t) {
                        break;
                    }
                    k -= 1n;
                }
                for (;;) {
                    const next = this.due(k + 1n);
                    if (next === undefined || next > t) {
                        break;
                    }
                    k += 1n;
                }
                return k;
            }
        }
    }

    /**
     * The period whose window, from `before` before its due date to `after`
     * after it, holds `at`, as [k, due date]; the nearest due date when
     * several windows do; undefined when none does.
     */
    windowContaining(at, before, after) {
        // The windows that hold `at` are those due from `at - after` to
        // `at + before`: periods `first` to `last`.
        const last = this.lastDueBy(at + before);
        if (last === undefined) {
            return undefined;
        }
        const earliest = at - after;
        const dueByEarliest = this.lastDueBy(earliest);
        let first;
        if (dueByEarliest === undefined) {
            first = 0n;
        } else if (this.due(dueByEarliest) === earliest) {
            first = dueByEarliest;
        } else {
            first = dueByEarliest + 1n;
        }
        if (first > last) {
            return undefined;
        }
        const dueByAt = this.lastDueBy(at);
        const candidates = dueByAt === undefined ? [0n, 0n] : [dueByAt, dueByAt + 1n];
        let best;
        for (let i = 0; i < candidates.length; i++) {
            const k = clamp(candidates[i], first, last);
            const due = this.due(k);
            if (due === undefined) {
                continue;
            }
            const distance = abs(due - at);
            // The earlier one on a tie.
            if (
                best === undefined ||
                distance < best.distance ||
                (distance === best.distance && k < best.k)
            ) {
                best = { k, due, distance };
            }
        }
        return best === undefined ? undefined : [best.k, best.due];
    }

    /** The due date nearest to `at`, the earlier one on a tie. */
    nearest(at) {
        const k = this.lastDueBy(at);
        const candidates = k === undefined ? [0n] : [k, k + 1n];
        let best;
        for (let i = 0; i < candidates.length; i++) {
            const due = this.due(candidates[i]);
            if (due === undefined) {
                continue;
            }
            const distance = abs(due - at);
            if (
                best === undefined ||
                distance < best.distance ||
                (distance === best.distance && due < best.due)
            ) {
                best = { due, distance };
            }
        }
        return best === undefined ? this.start : best.due;
    }
}

/** A due date, or undefined after the calendar's end. */
function onCalendar(due) {
    return due <= MAX_NANOS ? due : undefined;
}

/** A timestamp of the context as nanoseconds since 1970. */
function nanos(timestamp) {
    return timestamp.seconds * NANOS_PER_SECOND + BigInt(timestamp.nanoseconds);
}

/** `2026-04-01`, the date in UTC; `-009999-01-02` before the year 0. */
function date(instant) {
    if (instant < MIN_NANOS || instant > MAX_NANOS) {
        return instant > 0n ? 'a date after the year 9999' : 'a date before the year -9999';
    }
    const { year, month, day } = civil(instant);
    const digits = String(Math.abs(year)).padStart(4, '0');
    return `${year < 0 ? '-00' : ''}${digits}-${pad2(month)}-${pad2(day)}`;
}

function pad2(n) {
    return String(n).padStart(2, '0');
}

function days(n) {
    return n === 1 ? '1 day' : `${n} days`;
}

/** `45.00 EUR`, `4500 JPY`, `1.500 KWD`: minor units in the currency's usual decimals. */
function money(minorUnits, currency) {
    return formatMoney(minorUnits, currency, decimals(currency));
}

/** The decimals of an ISO 4217 currency: 2 but for the few with none or three. */
function decimals(currency) {
    if (NO_DECIMALS.includes(currency)) {
        return 0;
    }
    return THREE_DECIMALS.includes(currency) ? 3 : 2;
}

const NO_DECIMALS = [
    'BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'UYI', 'VND',
    'VUV', 'XAF', 'XOF', 'XPF',
];
const THREE_DECIMALS = ['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND'];

// ---------------------------------------------------------------------------
// The proleptic Gregorian calendar, in days since 1970-01-01 (Howard
// Hinnant's algorithms), with a year 0, as jiff counts years.

/** The civil date and time in UTC of an instant on the calendar. */
function civil(instant) {
    const days = floorDiv(instant, DAY);
    const { year, month, day } = civilFromDays(Number(days));
    return { year, month, day, time: instant - days * DAY };
}

function civilFromDays(days) {
    const z = days + 719_468;
    const era = Math.floor(z / 146_097);
    const dayOfEra = z - era * 146_097;
    const yearOfEra = Math.floor(
        (dayOfEra -
            Math.floor(dayOfEra / 1460) +
            Math.floor(dayOfEra / 36_524) -
            Math.floor(dayOfEra / 146_096)) /
            365,
    );
    const dayOfYear =
        dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
    const shifted = Math.floor((5 * dayOfYear + 2) / 153);
    const day = dayOfYear - Math.floor((153 * shifted + 2) / 5) + 1;
    const month = shifted < 10 ? shifted + 3 : shifted - 9;
    const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
    return { year, month, day };
}

function daysFromCivil(year, month, day) {
    const y = month <= 2 ? year - 1 : year;
    const era = Math.floor(y / 400);
    const yearOfEra = y - era * 400;
    const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
    const dayOfEra =
        yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
    return era * 146_097 + dayOfEra - 719_468;
}

function daysInMonth(year, month) {
    if (month === 2) {
        const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
        return leap ? 29 : 28;
    }
    return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

// ---------------------------------------------------------------------------
// BigInt arithmetic

/** `a / b` rounded down, for BigInts (`/` rounds toward zero). */
function floorDiv(a, b) {
    const quotient = a / b;
    return a % b !== 0n && a < 0n !== b < 0n ? quotient - 1n : quotient;
}

function abs(n) {
    return n < 0n ? -n : n;
}

function clamp(n, low, high) {
    if (n < low) {
        return low;
    }
    return n > high ? high : n;
}

// The export of the `policy` world: reads the configuration (nothing),
// then decides.
export const evaluate = withConfig(CONFIG, decide);
