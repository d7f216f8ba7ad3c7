/*
 * `recurring-match` in C: Warrant's built-in plugin of that name
 * (plugins/recurring-match), ported. It checks each charge reported against
 * a recurring intent: that it comes in the window of a due date, once per
 * due date, for about the expected amount, from the intent's merchant.
 *
 * Configuration: `{}`. The terms are the intent's own (`intent.recurring`).
 *
 * When an intent is being declared (`context.charge` is none) the rule
 * approves, annotating `recurring` with the cadence (`monthly`) or `no`.
 *
 * When a charge is being checked:
 *
 * - an intent without recurring terms: deny (`not-recurring`).
 * - Dates are whole days in the policy's time zone (`usage.timezone`). C
 *   has no time zone database inside a component: this port knows UTC (an
 *   empty name too) and the names the IANA database gives it (`Etc/UTC`,
 *   `GMT`, `Zulu`, …), and answers any other zone with its own error
 *   `unknown-timezone`, never with a date in the wrong zone. The series
 *   starts on the date it was declared, and a charge falls on the date it
 *   was made.
 * - Due dates: due(k) = the series' first date plus k periods, for
 *   k = 0, 1, 2, …: k days (daily), 7k days (weekly), k months on the same
 *   day of the month (monthly), k years (yearly). A day past the end of a
 *   month is clamped to its last day: a series started on 31 January is
 *   due on 28 (or 29) February and on 31 March; one started on 29 February
 *   is due on 28 February in common years.
 * - The window of due(k) runs from `windowStartDaysBefore` days before it
 *   to `windowEndDaysAfter` days after it, both days included: with both
 *   at 0 (the default), a charge at any time of the due date is in it. A
 *   charge in several windows belongs to the one whose due date is nearest.
 * - The calendar ends with the year 9999: a series has no due dates after
 *   it.
 *
 * A charge is flagged, with every code that applies, in this order:
 *
 * - `outside-window`: it is in no window (the reason names the nearest due
 *   date); this includes any charge before the first window;
 * - `duplicate-charge`: an earlier accepted charge (`charge.previous`) is in
 *   the same window;
 * - `no-amount`: the intent has no amount to compare with;
 * - `currency-mismatch`: the charge is in another currency than the
 *   intent's amount;
 * - `amount-beyond-tolerance`: |charge - expected| x 10 000 > expected x
 *   `amountToleranceBps`;
 * - `merchant-mismatch`: the terms require the intent's merchant and the
 *   charge comes from another one (ignoring the case of A-Z), or the intent
 *   names none.
 *
 * A flagged charge is denied; any other is approved. When the charge is in
 * a window, the decision is annotated with the period k (`period`) and its
 * due date (`dueDate`, `YYYY-MM-DD`).
 *
 * Instants are counted in nanoseconds since 1970 in 128 bits, as the
 * built-in plugin counts them, and the calendar is that of its date library
 * (jiff): instants from -9999-01-02T01:59:59Z to 9999-12-30T22:00:00Z, dates
 * of the years -9999 to 9999.
 */
#include "policy.h"
#include "warrant.h"

#ifdef WARRANT_WIT_0_1_0
#error "recurring-match checks charges (context.charge), which WIT 0.1.0 does not have: build it for WIT 0.3.0"
#endif

/* Nanoseconds since 1970-01-01T00:00:00Z. */
__extension__ typedef __int128 nanos_t;
__extension__ typedef unsigned __int128 u128;

#define NANOS_PER_SECOND 1000000000
/* Nanoseconds in a day. */
#define DAY ((nanos_t)86400 * NANOS_PER_SECOND)
/* The first and the last instant of the calendar. */
#define INSTANT_MIN ((nanos_t)INT64_C(-377705023201) * NANOS_PER_SECOND)
#define INSTANT_MAX ((nanos_t)INT64_C(253402207200) * NANOS_PER_SECOND + 999999999)
/* The calendar's years. */
#define YEAR_MIN -9999
#define YEAR_MAX 9999
/* The most months and years one addition takes. */
#define SPAN_YEARS_MAX 19998
#define SPAN_MONTHS_MAX (SPAN_YEARS_MAX * 12)

/* ------------------------------------------------------------------------
 * The calendar
 * ------------------------------------------------------------------------ */

static nanos_t floor_div(nanos_t a, nanos_t b) {
    nanos_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static nanos_t absolute(nanos_t n) {
    return n < 0 ? -n : n;
}

static bool in_calendar(nanos_t t) {
    return t >= INSTANT_MIN && t <= INSTANT_MAX;
}

typedef struct date {
    int64_t year;
    unsigned month; /* 1..=12 */
    unsigned day;   /* 1..=31 */
} date_t;

/* Days since 1970-01-01 of a date of the proleptic Gregorian calendar
 * (Howard Hinnant's `days_from_civil`). */
static int64_t days_from_date(date_t date) {
    int64_t year = date.year - (date.month <= 2);
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t year_of_era = year - era * 400;
    int64_t month = date.month;
    int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + date.day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

/* The date `days` after 1970-01-01 (`civil_from_days`). */
static date_t date_from_days(int64_t days) {
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t day_of_era = days - era * 146097;
    int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t mp = (5 * day_of_year + 2) / 153;
    unsigned day = (unsigned)(day_of_year - (153 * mp + 2) / 5 + 1);
    unsigned month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    return (date_t){.year = year_of_era + era * 400 + (month <= 2), .month = month, .day = day};
}

static unsigned days_in_month(int64_t year, unsigned month) {
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    return month == 2 && leap ? 29 : days[month - 1];
}

/* The date (UTC) of an instant of the calendar. */
static date_t date_of(nanos_t t) {
    return date_from_days((int64_t)floor_div(t, DAY));
}

/* The date `t` falls on, as its midnight in UTC (so that dates compare
 * and add as instants do); instants beyond the calendar stay as they are.
 * Only UTC is known here: see `check_time_zone`. */
static nanos_t day_of(nanos_t t) {
    if (!in_calendar(t)) {
        return t;
    }
    nanos_t midnight = floor_div(t, DAY) * DAY;
    return in_calendar(midnight) ? midnight : t;
}

static nanos_t nanos(warrant_policy_types_timestamp_t t) {
    return (nanos_t)t.seconds * NANOS_PER_SECOND + t.nanoseconds;
}

/* The names of UTC in the IANA time zone database: zones whose offset is
 * always zero. The database matches names without regard to case. */
static const char *const UTC_NAMES[] = {
    "UTC", "Etc/UTC",   "Etc/UCT",   "UCT",      "Etc/Universal", "Universal", "Etc/Zulu", "Zulu",          "Etc/GMT",
    "GMT", "Etc/GMT+0", "Etc/GMT-0", "Etc/GMT0", "GMT+0",         "GMT-0",     "GMT0",     "Etc/Greenwich", "Greenwich",
};

/* Dates are computed in UTC; an empty name (a 0.1.0 context) is UTC. Any
 * other zone is the plugin's error: without a time zone database in the
 * component, its dates would be wrong. */
static bool check_time_zone(const policy_string_t *name, policy_plugin_error_t *err) {
    if (name->len == 0) {
        return true;
    }
    for (size_t i = 0; i < sizeof UTC_NAMES / sizeof UTC_NAMES[0]; i++) {
        policy_string_t utc = {.ptr = (uint8_t *)(uintptr_t)UTC_NAMES[i], .len = strlen(UTC_NAMES[i])};
        if (warrant_equals_ignore_ascii_case(name, &utc)) {
            return true;
        }
    }
    policy_string_t message = warrant_string("the policy's time zone `");
    warrant_append_string(&message, name);
    warrant_append(&message, "` is unknown to this plugin, which computes dates in UTC only");
    return warrant_plugin_error(err, "unknown-timezone", message);
}

/* ------------------------------------------------------------------------
 * The due dates of a series
 * ------------------------------------------------------------------------ */

typedef struct series {
    warrant_policy_types_cadence_t cadence;
    /* due(0). */
    nanos_t start;
    /* due(0) as a date and a time of day in UTC, for months and years;
     * only when `start` is on the calendar. */
    bool on_calendar;
    date_t date;
    nanos_t time_of_day;
} series_t;

static series_t series_new(warrant_policy_types_cadence_t cadence, nanos_t start) {
    series_t series = {.cadence = cadence, .start = start, .on_calendar = in_calendar(start)};
    if (series.on_calendar) {
        nanos_t days = floor_div(start, DAY);
        series.date = date_from_days((int64_t)days);
        series.time_of_day = start - days * DAY;
    }
    return series;
}

/* due(k) into `*due`; false beyond the calendar (after the year 9999),
 * where a series ends. */
static bool due_date(const series_t *series, uint64_t k, nanos_t *due) {
    if (k == 0) {
        *due = series->start;
        return true;
    }
    switch (series->cadence) {
    case WARRANT_POLICY_TYPES_CADENCE_DAILY:
    case WARRANT_POLICY_TYPES_CADENCE_WEEKLY: {
        nanos_t period = series->cadence == WARRANT_POLICY_TYPES_CADENCE_DAILY ? DAY : 7 * DAY;
        *due = series->start + (nanos_t)k * period;
        return *due <= INSTANT_MAX;
    }
    default: {
        bool monthly = series->cadence == WARRANT_POLICY_TYPES_CADENCE_MONTHLY;
        if (!series->on_calendar || k > (uint64_t)(monthly ? SPAN_MONTHS_MAX : SPAN_YEARS_MAX)) {
            return false;
        }
        int64_t year = series->date.year;
        unsigned month = series->date.month;
        if (monthly) {
            int64_t months = (int64_t)(month - 1) + (int64_t)k;
            year += months / 12;
            month = (unsigned)(months % 12) + 1;
        } else {
            year += (int64_t)k;
        }
        if (year < YEAR_MIN || year > YEAR_MAX) {
            return false;
        }
        unsigned last = days_in_month(year, month);
        date_t date = {.year = year, .month = month, .day = series->date.day < last ? series->date.day : last};
        *due = (nanos_t)days_from_date(date) * DAY + series->time_of_day;
        return in_calendar(*due);
    }
    }
}

/* The last period due at or before `t` into `*k`; false before the
 * series. */
static bool last_due_by(const series_t *series, nanos_t t, uint64_t *k) {
    if (t < series->start) {
        return false;
    }
    /* No due date but the first comes after the calendar's end. */
    nanos_t end = INSTANT_MAX > series->start ? INSTANT_MAX : series->start;
    if (t > end) {
        t = end;
    }
    nanos_t elapsed = t - series->start;
    switch (series->cadence) {
    case WARRANT_POLICY_TYPES_CADENCE_DAILY:
    case WARRANT_POLICY_TYPES_CADENCE_WEEKLY: {
        nanos_t periods = elapsed / (series->cadence == WARRANT_POLICY_TYPES_CADENCE_DAILY ? DAY : 7 * DAY);
        if (periods > (nanos_t)UINT64_MAX) {
            return false;
        }
        *k = (uint64_t)periods;
        return true;
    }
    default: {
        if (!series->on_calendar) {
            /* Only due(0) is on the calendar. */
            *k = 0;
            return true;
        }
        date_t then = date_of(t);
        int64_t years = then.year - series->date.year;
        int64_t estimate = series->cadence == WARRANT_POLICY_TYPES_CADENCE_MONTHLY
            ? years * 12 + (int64_t)then.month - (int64_t)series->date.month
            : years;
        /* The estimate is the period due in the same month (or year) as
         * `t`, which is at most one period late. */
        uint64_t period = estimate > 0 ? (uint64_t)estimate : 0;
        nanos_t due;
        while (period > 0 && (!due_date(series, period, &due) || due > t)) {
            period--;
        }
        while (due_date(series, period + 1, &due) && due <= t) {
            period++;
        }
        *k = period;
        return true;
    }
    }
}

/* The period whose window, from `before` before its due date to `after`
 * after it, holds `at`, and its due date; the nearest due date when several
 * windows do. False when none does. */
static bool window_containing(const series_t *series, nanos_t at, nanos_t before, nanos_t after, uint64_t *period,
                              nanos_t *due) {
    /* The windows that hold `at` are those due from `at - after` to
     * `at + before`: periods `first..=last`. */
    uint64_t last, first, k;
    if (!last_due_by(series, at + before, &last)) {
        return false;
    }
    nanos_t earliest = at - after, earliest_due;
    if (!last_due_by(series, earliest, &k)) {
        first = 0;
    } else if (due_date(series, k, &earliest_due) && earliest_due == earliest) {
        first = k;
    } else {
        first = k + 1;
    }
    if (first > last) {
        return false;
    }
    uint64_t candidates[2] = {0, 0};
    if (last_due_by(series, at, &k)) {
        candidates[0] = k;
        candidates[1] = k + 1;
    }
    bool found = false;
    for (size_t i = 0; i < 2; i++) {
        uint64_t candidate = candidates[i] < first ? first : candidates[i] > last ? last : candidates[i];
        nanos_t candidate_due;
        if (!due_date(series, candidate, &candidate_due)) {
            continue;
        }
        /* The nearest; the earlier period on a tie. */
        nanos_t distance = absolute(candidate_due - at);
        if (!found || distance < absolute(*due - at) || (distance == absolute(*due - at) && candidate < *period)) {
            found = true;
            *period = candidate;
            *due = candidate_due;
        }
    }
    return found;
}

/* The due date nearest to `at`, the earlier one on a tie. */
static nanos_t nearest_due(const series_t *series, nanos_t at) {
    uint64_t candidates[2] = {0, 0}, k;
    size_t count = 1;
    if (last_due_by(series, at, &k)) {
        candidates[0] = k;
        candidates[1] = k + 1;
        count = 2;
    }
    bool found = false;
    nanos_t nearest = series->start;
    for (size_t i = 0; i < count; i++) {
        nanos_t due;
        if (!due_date(series, candidates[i], &due)) {
            continue;
        }
        nanos_t distance = absolute(due - at);
        if (!found || distance < absolute(nearest - at) || (distance == absolute(nearest - at) && due < nearest)) {
            found = true;
            nearest = due;
        }
    }
    return nearest;
}

/* ------------------------------------------------------------------------
 * Text
 * ------------------------------------------------------------------------ */

static void append_u128(policy_string_t *s, u128 n) {
    char digits[40];
    size_t count = 0;
    do {
        digits[sizeof digits - ++count] = (char)('0' + (unsigned)(n % 10));
        n /= 10;
    } while (n > 0);
    warrant_append_bytes(s, digits + sizeof digits - count, count);
}

/* Appends `n` with at least `width` digits, zeros in front. */
static void append_padded(policy_string_t *s, uint64_t n, unsigned width) {
    for (uint64_t limit = 10; width > 1; width--, limit *= 10) {
        if (n < limit) {
            warrant_append(s, "0");
        }
    }
    warrant_append_u64(s, n);
}

/* Appends `2026-04-01`, the date of `t` in UTC (`-009999-01-02` before the
 * year 0). */
static void append_date(policy_string_t *s, nanos_t t) {
    if (!in_calendar(t)) {
        warrant_append(s, t > 0 ? "a date after the year 9999" : "a date before the year -9999");
        return;
    }
    date_t date = date_of(t);
    if (date.year < 0) {
        warrant_append(s, "-00");
    }
    append_padded(s, (uint64_t)(date.year < 0 ? -date.year : date.year), 4);
    warrant_append(s, "-");
    append_padded(s, date.month, 2);
    warrant_append(s, "-");
    append_padded(s, date.day, 2);
}

/* Appends `1 day` or `n days`. */
static void append_days(policy_string_t *s, uint32_t n) {
    warrant_append_u64(s, n);
    warrant_append(s, n == 1 ? " day" : " days");
}

static const char *cadence_name(warrant_policy_types_cadence_t cadence) {
    switch (cadence) {
    case WARRANT_POLICY_TYPES_CADENCE_DAILY:
        return "daily";
    case WARRANT_POLICY_TYPES_CADENCE_WEEKLY:
        return "weekly";
    case WARRANT_POLICY_TYPES_CADENCE_YEARLY:
        return "yearly";
    case WARRANT_POLICY_TYPES_CADENCE_MONTHLY:
    default:
        return "monthly";
    }
}

/* Whether `currency` is one of `list`. */
static bool currency_in(const policy_string_t *currency, const char *const list[], size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (warrant_equals(currency, list[i])) {
            return true;
        }
    }
    return false;
}

/* The decimals of an ISO 4217 currency: 2 but for the few with none or
 * three. */
static unsigned decimals(const policy_string_t *currency) {
    static const char *const none[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
                                       "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"};
    static const char *const three[] = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"};
    if (currency_in(currency, none, sizeof none / sizeof none[0])) {
        return 0;
    }
    return currency_in(currency, three, sizeof three / sizeof three[0]) ? 3 : 2;
}

/* Appends `45.00 EUR`, `4500 JPY`, `1.500 KWD`: minor units in the
 * currency's usual decimals. */
static void append_money(policy_string_t *s, u128 minor_units, const policy_string_t *currency) {
    unsigned places = decimals(currency);
    u128 unit = 1;
    for (unsigned i = 0; i < places; i++) {
        unit *= 10;
    }
    append_u128(s, minor_units / unit);
    if (places > 0) {
        warrant_append(s, ".");
        append_padded(s, (uint64_t)(minor_units % unit), places);
    }
    warrant_append(s, " ");
    warrant_append_string(s, currency);
}

/* ------------------------------------------------------------------------
 * The policy
 * ------------------------------------------------------------------------ */

/* The codes of a flagged charge and its reasons, joined with `; `. */
typedef struct findings {
    const char *codes[5];
    size_t count;
    policy_string_t reason;
} findings_t;

/* Adds the code `code`; its reason is to be appended to the returned
 * string. */
static policy_string_t *flag(findings_t *findings, const char *code) {
    if (findings->count > 0) {
        warrant_append(&findings->reason, "; ");
    }
    findings->codes[findings->count++] = code;
    return &findings->reason;
}

static bool check_charge(const policy_context_t *context, policy_decision_t *decision, policy_plugin_error_t *err) {
    const warrant_policy_types_intent_t *intent = &context->intent;
    const warrant_policy_types_charge_t *charge = &context->charge.val;
    if (!intent->recurring.is_some) {
        warrant_deny(decision, warrant_string("the intent is not recurring, so no charge can be accepted against it"));
        warrant_add_code(decision, "not-recurring");
        return true;
    }
    const warrant_policy_types_recurring_terms_t *terms = &intent->recurring.val;
    if (!check_time_zone(&context->usage.timezone, err)) {
        return false;
    }

    series_t series = series_new(terms->cadence, day_of(nanos(charge->series_start)));
    nanos_t before = (nanos_t)terms->window_start_days_before * DAY;
    nanos_t after = (nanos_t)terms->window_end_days_after * DAY;
    nanos_t at = day_of(nanos(charge->at));

    findings_t findings = {0};
    uint64_t period = 0;
    nanos_t due = 0;
    bool in_window = window_containing(&series, at, before, after, &period, &due);
    if (!in_window) {
        policy_string_t *reason = flag(&findings, "outside-window");
        warrant_append(reason, "the charge on ");
        append_date(reason, at);
        warrant_append(reason, " falls in no window of the ");
        warrant_append(reason, cadence_name(terms->cadence));
        warrant_append(reason, " series; the nearest due date is ");
        append_date(reason, nearest_due(&series, at));
        warrant_append(reason, ", and a charge may come from ");
        append_days(reason, terms->window_start_days_before);
        warrant_append(reason, " before to ");
        append_days(reason, terms->window_end_days_after);
        warrant_append(reason, " after a due date");
    } else {
        nanos_t from = due - before, to = due + after;
        for (size_t i = 0; i < charge->previous.len; i++) {
            nanos_t earlier = day_of(nanos(charge->previous.ptr[i]));
            if (earlier >= from && earlier <= to) {
                policy_string_t *reason = flag(&findings, "duplicate-charge");
                warrant_append(reason, "a charge on ");
                append_date(reason, earlier);
                warrant_append(reason, " was already accepted for the payment due ");
                append_date(reason, due);
                warrant_append(reason, " (period ");
                warrant_append_u64(reason, period);
                warrant_append(reason, ")");
                break;
            }
        }
    }

    if (!intent->amount.is_some) {
        warrant_append(flag(&findings, "no-amount"),
                       "the intent has no amount, so the charge's amount cannot be checked");
    } else if (!warrant_equals_ignore_ascii_case(&intent->amount.val.currency, &charge->amount.currency)) {
        policy_string_t *reason = flag(&findings, "currency-mismatch");
        warrant_append(reason, "the charge is in ");
        warrant_append_string(reason, &charge->amount.currency);
        warrant_append(reason, " and the intent in ");
        warrant_append_string(reason, &intent->amount.val.currency);
    } else {
        const policy_string_t *currency = &intent->amount.val.currency;
        uint64_t expected = intent->amount.val.minor_units, charged = charge->amount.minor_units;
        u128 diff = charged > expected ? charged - expected : expected - charged;
        uint32_t bps = terms->amount_tolerance_bps;
        if (diff * 10000 > (u128)expected * bps) {
            u128 tolerance = (u128)expected * bps / 10000;
            policy_string_t *reason = flag(&findings, "amount-beyond-tolerance");
            warrant_append(reason, "the charge of ");
            append_money(reason, charged, currency);
            warrant_append(reason, " differs from the expected ");
            append_money(reason, expected, currency);
            warrant_append(reason, " by ");
            append_money(reason, diff, currency);
            warrant_append(reason, ", more than the tolerance of ");
            warrant_append_u64(reason, bps / 100);
            warrant_append(reason, ".");
            append_padded(reason, bps % 100, 2);
            warrant_append(reason, "% (");
            append_money(reason, tolerance, currency);
            warrant_append(reason, ")");
        }
    }

    if (terms->merchant_match) {
        policy_string_t charged_by = warrant_trim(&charge->merchant);
        if (!intent->merchant.is_some) {
            policy_string_t *reason = flag(&findings, "merchant-mismatch");
            warrant_append(reason, "the charge comes from `");
            warrant_append_string(reason, &charged_by);
            warrant_append(reason, "` and the intent names no merchant to match it with");
        } else {
            policy_string_t merchant = warrant_trim(&intent->merchant.val);
            if (!warrant_equals_ignore_ascii_case(&merchant, &charged_by)) {
                policy_string_t *reason = flag(&findings, "merchant-mismatch");
                warrant_append(reason, "the charge comes from `");
                warrant_append_string(reason, &charged_by);
                warrant_append(reason, "`, not from the intent's merchant `");
                warrant_append_string(reason, &merchant);
                warrant_append(reason, "`");
            }
        }
    }

    if (findings.count == 0) {
        warrant_approve(decision);
    } else {
        warrant_deny(decision, findings.reason);
        for (size_t i = 0; i < findings.count; i++) {
            warrant_add_code(decision, findings.codes[i]);
        }
    }
    if (in_window) {
        policy_string_t k = {0}, date = {0};
        warrant_append_u64(&k, period);
        append_date(&date, due);
        warrant_add_annotation(decision, "period", k);
        warrant_add_annotation(decision, "dueDate", date);
    }
    return true;
}

static bool evaluate(const policy_context_t *context, const policy_string_t *config_text, policy_decision_t *decision,
                     policy_plugin_error_t *err) {
    /* The configuration has no fields: `{}`. */
    static const char *const fields[] = {NULL};
    warrant_config_t config;
    if (!warrant_config_parse(&config, config_text, err)) {
        return false;
    }
    bool valid = warrant_config_check_fields(&config, fields, err);
    warrant_config_free(&config);
    if (!valid) {
        return false;
    }
    if (!context->charge.is_some) {
        warrant_approve(decision);
        const warrant_policy_types_option_recurring_terms_t *terms = &context->intent.recurring;
        warrant_add_annotation(decision, "recurring",
                               warrant_string(terms->is_some ? cadence_name(terms->val.cadence) : "no"));
        return true;
    }
    return check_charge(context, decision, err);
}

/* The export of the `policy` world, called by the generated bindings. */
bool exports_policy_evaluate(policy_context_t *context, policy_string_t *config_text, policy_decision_t *decision,
                             policy_plugin_error_t *err) {
    bool valid = evaluate(context, config_text, decision, err);
    /* The arguments belong to the callee: free them before returning. */
    policy_string_free(config_text);
    policy_context_free(context);
    return valid;
}
