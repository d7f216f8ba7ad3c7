/*
 * warrant.h: Warrant's SDK for policy plugins written in C, version 0.3.0
 * (the version of the WIT contract it targets, `wit/0.3.0/warrant.wit`).
 *
 * Header-only, C11. Include it after the bindings that `wit-bindgen c`
 * generates for the `policy` world of Warrant's WIT (`policy.h`), and put
 * jsmn's `jsmn.h` on the include path (warrant.h includes it in strict mode
 * with parent links; do not include jsmn.h yourself):
 *
 *     #include "policy.h"
 *     #include "warrant.h"
 *
 * `pkg-config --cflags warrant`, with this folder on `PKG_CONFIG_PATH`,
 * gives the include flag for this header (see `warrant.pc`).
 *
 * Contracts: by default the bindings must be those of WIT 0.3.0. A plugin
 * built against WIT 0.1.0 (`wit/warrant.wit`), which the host still runs,
 * defines `WARRANT_WIT_0_1_0` (`-DWARRANT_WIT_0_1_0`): everything below
 * that needs a newer contract (actions, the test context's newer fields)
 * is then left out, and using an action helper is a compile error. A
 * switch that does not match the bindings is a compile error too.
 *
 * What it offers:
 * - configuration reading over jsmn: the object, its fields (unknown and
 *   repeated fields refused), amounts read exactly from the number's text
 *   into minor units, whole numbers, lists of strings with JSON escapes
 *   decoded;
 * - text building: append text, numbers and amounts (`4.51 EUR`) to a
 *   `policy_string_t`; trimming and comparisons merchants need;
 * - decision building: `warrant_approve`, `warrant_deny`, `warrant_review`,
 *   `warrant_add_code`, `warrant_add_annotation`, the actions
 *   `warrant_add_suspend_agent`, `warrant_add_alert`, `warrant_add_action`
 *   (WIT 0.3.0), and the plugin error `warrant_invalid_config`;
 * - reading a decision back (`warrant_reason`, `warrant_has_code`,
 *   `warrant_annotation`, `warrant_has_action`) and a context to start a
 *   native test from (`warrant_test_context`);
 * - `warrant_log`.
 *
 * Memory, as the canonical ABI and the generated bindings want it:
 * - `exports_policy_evaluate` owns its `context` and `config`: free them
 *   with `policy_context_free` and `policy_string_free` before returning.
 * - Every string and list of the decision or error it returns must come from
 *   `malloc`: after the host has copied the answer, the bindings `free` each
 *   one that is not empty. The builders below copy their `const char *`
 *   arguments and take over their `policy_string_t` arguments, so a decision
 *   built with them is freed exactly once, by the bindings.
 * - Allocation failure aborts, as the bindings' own `cabi_realloc` does: the
 *   instance traps and the host fails closed.
 */
#ifndef WARRANT_H
#define WARRANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Strict mode refuses what is not JSON (unquoted keys, bare words); parent
 * links let the functions below find an object's fields and a list's items. jsmn
 * still lets a trailing comma pass: harmless here, as Warrant validates a
 * configuration as JSON before a plugin sees it. */
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include "jsmn.h"

/* The version of this SDK: the version of the WIT contract it targets. */
#define WARRANT_SDK_VERSION "0.3.0"

/* The version of the WIT contract of the bindings it is built with. */
#ifdef WARRANT_WIT_0_1_0
#define WARRANT_WIT_VERSION "0.1.0"
#else
#define WARRANT_WIT_VERSION "0.3.0"
#endif

#ifdef WARRANT_WIT_0_1_0
/* A decision of WIT 0.1.0 has a verdict, codes and annotations, nothing
 * more: bindings of a newer contract have a larger one. */
typedef struct warrant__decision_0_1_0 {
    warrant_policy_types_verdict_t verdict;
    policy_list_string_t codes;
    warrant_policy_types_list_annotation_t annotations;
} warrant__decision_0_1_0_t;
_Static_assert(sizeof(policy_decision_t) == sizeof(warrant__decision_0_1_0_t),
               "WARRANT_WIT_0_1_0 is defined, but the bindings are not those of WIT 0.1.0 (wit/warrant.wit)");
#else
/* An error on the next line means bindings of WIT 0.1.0: build them from
 * wit/0.3.0, or define WARRANT_WIT_0_1_0 to build for WIT 0.1.0. */
typedef warrant_policy_types_list_action_t warrant__actions_of_wit_0_3_0_t;
#endif

/* ------------------------------------------------------------------------
 * Text
 * ------------------------------------------------------------------------ */

/* Appends `len` bytes to `s`, which must be empty or own its memory. */
static inline void warrant_append_bytes(policy_string_t *s, const void *bytes, size_t len) {
    if (len == 0) {
        return;
    }
    /* An empty string may hold a dangling pointer (`policy_string_dup("")`
     * gives one): never hand it to realloc. */
    uint8_t *old = s->len > 0 ? s->ptr : NULL;
    uint8_t *grown = realloc(old, s->len + len);
    if (grown == NULL) {
        abort();
    }
    memcpy(grown + s->len, bytes, len);
    s->ptr = grown;
    s->len += len;
}

/* Appends the NUL-terminated `text` to `s`. */
static inline void warrant_append(policy_string_t *s, const char *text) {
    warrant_append_bytes(s, text, strlen(text));
}

/* A copy of `text` in memory of its own. */
static inline policy_string_t warrant_string(const char *text) {
    policy_string_t s = {0};
    warrant_append(&s, text);
    return s;
}

/* Appends the bytes of `other` to `s`. */
static inline void warrant_append_string(policy_string_t *s, const policy_string_t *other) {
    warrant_append_bytes(s, other->ptr, other->len);
}

/* Writes `n` in decimal at the end of `digits`; returns how many digits. */
static inline size_t warrant__digits(uint64_t n, char digits[20]) {
    size_t count = 0;
    do {
        digits[20 - ++count] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    return count;
}

/* Appends `n` in decimal. */
static inline void warrant_append_u64(policy_string_t *s, uint64_t n) {
    char digits[20];
    size_t count = warrant__digits(n, digits);
    warrant_append_bytes(s, digits + 20 - count, count);
}

/* Appends `n` in decimal, with a `-` when it is negative. */
static inline void warrant_append_i64(policy_string_t *s, int64_t n) {
    if (n < 0) {
        warrant_append(s, "-");
        /* -(n + 1) + 1 is |n| without overflowing at INT64_MIN. */
        warrant_append_u64(s, (uint64_t)(-(n + 1)) + 1);
    } else {
        warrant_append_u64(s, (uint64_t)n);
    }
}

/* Appends an amount given in minor units with `decimals` digits after the
 * point: 451 with 2 decimals is `4.51`, 7 is `0.07`. */
static inline void warrant_append_amount(policy_string_t *s, uint64_t minor_units, unsigned decimals) {
    char digits[20];
    size_t count = warrant__digits(minor_units, digits);
    const char *first = digits + 20 - count;
    if (count > decimals) {
        warrant_append_bytes(s, first, count - decimals);
    } else {
        warrant_append(s, "0");
    }
    if (decimals > 0) {
        warrant_append(s, ".");
        for (size_t i = count; i < decimals; i++) {
            warrant_append(s, "0");
        }
        size_t fraction = count < decimals ? count : decimals;
        warrant_append_bytes(s, first + count - fraction, fraction);
    }
}

/* Appends cents as euros: `4.51 EUR`. */
static inline void warrant_append_euros(policy_string_t *s, uint64_t cents) {
    warrant_append_amount(s, cents, 2);
    warrant_append(s, " EUR");
}

/* Cents as euros, in a new string: `100.00 EUR`. */
static inline policy_string_t warrant_euros(uint64_t cents) {
    policy_string_t s = {0};
    warrant_append_euros(&s, cents);
    return s;
}

/* Whether `s` is exactly the NUL-terminated `text`. */
static inline bool warrant_equals(const policy_string_t *s, const char *text) {
    size_t len = strlen(text);
    return s->len == len && (len == 0 || memcmp(s->ptr, text, len) == 0);
}

/* Whether `a` and `b` are equal when the ASCII letters A-Z and a-z are folded
 * to one case. Other letters must match exactly: `Ü` is not `ü`, as in
 * Warrant's built-in plugins, because full Unicode case folding depends on
 * the Unicode version and would not give every language the same answer. */
static inline bool warrant_equals_ignore_ascii_case(const policy_string_t *a, const policy_string_t *b) {
    if (a->len != b->len) {
        return false;
    }
    for (size_t i = 0; i < a->len; i++) {
        uint8_t x = a->ptr[i], y = b->ptr[i];
        if (x >= 'A' && x <= 'Z') {
            x = (uint8_t)(x - 'A' + 'a');
        }
        if (y >= 'A' && y <= 'Z') {
            y = (uint8_t)(y - 'A' + 'a');
        }
        if (x != y) {
            return false;
        }
    }
    return true;
}

/* The length of the character at the start of the `len` bytes at `p` when
 * it is Unicode white space (the White_Space property, as Rust's
 * `str::trim` and most languages' trim functions see it), else 0. */
static inline size_t warrant__space_at(const uint8_t *p, size_t len) {
    uint8_t b = p[0];
    uint32_t c;
    size_t width;
    if (b < 0x80) {
        c = b;
        width = 1;
    } else if (b >= 0xC0 && b < 0xE0 && len >= 2) {
        c = (uint32_t)(b & 0x1F) << 6 | (p[1] & 0x3F);
        width = 2;
    } else if (b >= 0xE0 && b < 0xF0 && len >= 3) {
        c = (uint32_t)(b & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
        width = 3;
    } else {
        return 0; /* four-byte characters (and invalid bytes) are not white space */
    }
    bool space = (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680
        || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F
        || c == 0x3000;
    return space ? width : 0;
}

/* `s` without its leading and trailing Unicode white space, as a view into
 * `s`: it borrows `s`'s memory, so never free it nor put it in a decision
 * (copy it with `warrant_append_string`). `s` must be UTF-8, as every
 * string of the component model is. */
static inline policy_string_t warrant_trim(const policy_string_t *s) {
    size_t start = 0, end = s->len, width;
    while (start < end && (width = warrant__space_at(s->ptr + start, end - start)) > 0) {
        start += width;
    }
    while (end > start) {
        /* The last character starts at the last byte that is not a
         * continuation byte (10xxxxxx). */
        size_t last = end - 1;
        while (last > start && (s->ptr[last] & 0xC0) == 0x80) {
            last--;
        }
        if (warrant__space_at(s->ptr + last, end - last) != end - last) {
            break;
        }
        end = last;
    }
    return (policy_string_t){.ptr = end > start ? s->ptr + start : NULL, .len = end - start};
}

/* Whether `s` is empty or only Unicode white space (see `warrant_trim`). */
static inline bool warrant_is_blank(const policy_string_t *s) {
    return warrant_trim(s).len == 0;
}

/* ------------------------------------------------------------------------
 * Decisions and errors
 * ------------------------------------------------------------------------ */

/* Sets `*decision` to an approval without codes or annotations. */
static inline void warrant_approve(policy_decision_t *decision) {
    *decision = (policy_decision_t){.verdict = {.tag = WARRANT_POLICY_TYPES_VERDICT_APPROVE}};
}

/* Sets `*decision` to a denial; takes over `reason`. */
static inline void warrant_deny(policy_decision_t *decision, policy_string_t reason) {
    *decision = (policy_decision_t){.verdict = {.tag = WARRANT_POLICY_TYPES_VERDICT_DENY, .val.deny = reason}};
}

/* Sets `*decision` to a request for review; takes over `reason`. */
static inline void warrant_review(policy_decision_t *decision, policy_string_t reason) {
    *decision = (policy_decision_t){.verdict = {.tag = WARRANT_POLICY_TYPES_VERDICT_REVIEW, .val.review = reason}};
}

/* Adds the reason code `code` (copied), e.g. `amount-over-max`. */
static inline void warrant_add_code(policy_decision_t *decision, const char *code) {
    policy_list_string_t *codes = &decision->codes;
    policy_string_t *grown = realloc(codes->len > 0 ? codes->ptr : NULL, (codes->len + 1) * sizeof *grown);
    if (grown == NULL) {
        abort();
    }
    grown[codes->len] = warrant_string(code);
    codes->ptr = grown;
    codes->len++;
}

/* Adds the annotation `key` (copied) = `value` (taken over). */
static inline void warrant_add_annotation(policy_decision_t *decision, const char *key, policy_string_t value) {
    warrant_policy_types_list_annotation_t *annotations = &decision->annotations;
    warrant_policy_types_annotation_t *grown =
        realloc(annotations->len > 0 ? annotations->ptr : NULL, (annotations->len + 1) * sizeof *grown);
    if (grown == NULL) {
        abort();
    }
    grown[annotations->len] = (warrant_policy_types_annotation_t){.key = warrant_string(key), .value = value};
    annotations->ptr = grown;
    annotations->len++;
}

/* The kinds of action the host knows. It ignores (and traces) any other
 * kind, the actions of rules in monitor mode, and every action of a dry
 * run. */
#define WARRANT_ACTION_SUSPEND_AGENT "suspend-agent"
#define WARRANT_ACTION_ALERT "alert"

#ifndef WARRANT_WIT_0_1_0

/* Asks the host for an action of any `kind` (copied), saying why in
 * `message` (taken over). The host carries it out in the transaction that
 * records the intent. (WIT 0.3.0.) */
static inline void warrant_add_action(policy_decision_t *decision, const char *kind, policy_string_t message) {
    warrant_policy_types_list_action_t *actions = &decision->actions;
    warrant_policy_types_action_t *grown =
        realloc(actions->len > 0 ? actions->ptr : NULL, (actions->len + 1) * sizeof *grown);
    if (grown == NULL) {
        abort();
    }
    grown[actions->len] = (warrant_policy_types_action_t){.kind = warrant_string(kind), .message = message};
    actions->ptr = grown;
    actions->len++;
}

/* Asks the host to suspend the agent, saying why in `reason` (taken over).
 * (WIT 0.3.0.) */
static inline void warrant_add_suspend_agent(policy_decision_t *decision, policy_string_t reason) {
    warrant_add_action(decision, WARRANT_ACTION_SUSPEND_AGENT, reason);
}

/* Asks the host to record an alert event for the agent with `message`
 * (taken over). (WIT 0.3.0.) */
static inline void warrant_add_alert(policy_decision_t *decision, policy_string_t message) {
    warrant_add_action(decision, WARRANT_ACTION_ALERT, message);
}

/* Whether `decision` asks for an action of `kind`. (WIT 0.3.0.) */
static inline bool warrant_has_action(const policy_decision_t *decision, const char *kind) {
    for (size_t i = 0; i < decision->actions.len; i++) {
        if (warrant_equals(&decision->actions.ptr[i].kind, kind)) {
            return true;
        }
    }
    return false;
}

#else /* WARRANT_WIT_0_1_0 */

/* WIT 0.1.0 has no actions: a decision cannot carry one, and asking for one
 * must not compile rather than be dropped without a word. */
#if defined(__clang__)
#define WARRANT__NEEDS_WIT_0_3_0                                                                                       \
    __attribute__((unavailable("actions need WIT 0.3.0, and this plugin is built for WIT 0.1.0 (WARRANT_WIT_0_1_0)")))
#elif defined(__GNUC__)
#define WARRANT__NEEDS_WIT_0_3_0                                                                                       \
    __attribute__((error("actions need WIT 0.3.0, and this plugin is built for WIT 0.1.0 (WARRANT_WIT_0_1_0)")))
#else
#define WARRANT__NEEDS_WIT_0_3_0
#endif
void warrant_add_action(policy_decision_t *decision, const char *kind,
                        policy_string_t message) WARRANT__NEEDS_WIT_0_3_0;
void warrant_add_suspend_agent(policy_decision_t *decision, policy_string_t reason) WARRANT__NEEDS_WIT_0_3_0;
void warrant_add_alert(policy_decision_t *decision, policy_string_t message) WARRANT__NEEDS_WIT_0_3_0;
bool warrant_has_action(const policy_decision_t *decision, const char *kind) WARRANT__NEEDS_WIT_0_3_0;

#endif /* WARRANT_WIT_0_1_0 */

/* The reason of a deny or a review; NULL for an approval. */
static inline const policy_string_t *warrant_reason(const policy_decision_t *decision) {
    switch (decision->verdict.tag) {
    case WARRANT_POLICY_TYPES_VERDICT_DENY:
        return &decision->verdict.val.deny;
    case WARRANT_POLICY_TYPES_VERDICT_REVIEW:
        return &decision->verdict.val.review;
    default:
        return NULL;
    }
}

/* Whether `decision` has the reason code `code`. */
static inline bool warrant_has_code(const policy_decision_t *decision, const char *code) {
    for (size_t i = 0; i < decision->codes.len; i++) {
        if (warrant_equals(&decision->codes.ptr[i], code)) {
            return true;
        }
    }
    return false;
}

/* The value of the first annotation named `key`; NULL when there is none. */
static inline const policy_string_t *warrant_annotation(const policy_decision_t *decision, const char *key) {
    for (size_t i = 0; i < decision->annotations.len; i++) {
        if (warrant_equals(&decision->annotations.ptr[i].key, key)) {
            return &decision->annotations.ptr[i].value;
        }
    }
    return NULL;
}

/* Sets `*err` to the plugin error `code` (copied) with `message` (taken
 * over), and returns false, so that a check can end with
 * `return warrant_plugin_error(err, …);`. */
static inline bool warrant_plugin_error(policy_plugin_error_t *err, const char *code, policy_string_t message) {
    *err = (policy_plugin_error_t){.code = warrant_string(code), .message = message};
    return false;
}

/* The plugin error `invalid-config` with `message` (taken over); returns
 * false. The host never approves when a plugin answers with an error. */
static inline bool warrant_invalid_config(policy_plugin_error_t *err, policy_string_t message) {
    return warrant_plugin_error(err, "invalid-config", message);
}

/* Writes `message` to the host's log (capped by the host; it never changes
 * the decision). */
static inline void warrant_log(warrant_policy_host_log_level_t level, const char *message) {
    policy_string_t text;
    policy_string_set(&text, message); /* borrowed: the host copies it */
    warrant_policy_host_log(level, &text);
}

/* ------------------------------------------------------------------------
 * JSON values
 * ------------------------------------------------------------------------ */

/* Why the text of a JSON number is not an amount. */
typedef enum warrant_amount_status {
    WARRANT_AMOUNT_OK,
    /* Not a JSON number. */
    WARRANT_AMOUNT_NOT_A_NUMBER,
    /* Below zero (`-0` included). */
    WARRANT_AMOUNT_NEGATIVE,
    /* Has a non-zero digit below the minor unit, e.g. `1.001` in cents. */
    WARRANT_AMOUNT_TOO_PRECISE,
    /* Over 2^64 - 1 minor units. */
    WARRANT_AMOUNT_TOO_LARGE,
} warrant_amount_status_t;

/* Reads the text of a JSON number (`4.51`, `100`, `1e2`, `1.5E1`, `100.0`)
 * exactly, never through a binary float, as an integer number of minor
 * units with `decimals` digits after the point: `4.51` is 451 cents with 2
 * decimals. */
static inline warrant_amount_status_t warrant_parse_minor_units(const char *text, size_t len, unsigned decimals,
                                                               uint64_t *minor_units) {
#define WARRANT_IS_DIGIT(at) ((at) < len && text[at] >= '0' && text[at] <= '9')
    /* The grammar of RFC 8259: [minus] int [frac] [exp], int without leading
     * zeros. */
    bool minus = len > 0 && text[0] == '-';
    size_t i = minus ? 1 : 0;
    size_t int_start = i;
    if (!WARRANT_IS_DIGIT(i)) {
        return WARRANT_AMOUNT_NOT_A_NUMBER;
    }
    if (text[i] == '0') {
        i++;
    } else {
        while (WARRANT_IS_DIGIT(i)) {
            i++;
        }
    }
    size_t int_end = i, frac_start = i, frac_end = i;
    if (i < len && text[i] == '.') {
        frac_start = ++i;
        if (!WARRANT_IS_DIGIT(i)) {
            return WARRANT_AMOUNT_NOT_A_NUMBER;
        }
        while (WARRANT_IS_DIGIT(i)) {
            i++;
        }
        frac_end = i;
    }
    /* The exponent saturates: past 10^9 the answer no longer depends on it. */
    int64_t exponent = 0;
    if (i < len && (text[i] == 'e' || text[i] == 'E')) {
        i++;
        bool negative = i < len && text[i] == '-';
        if (i < len && (text[i] == '-' || text[i] == '+')) {
            i++;
        }
        if (!WARRANT_IS_DIGIT(i)) {
            return WARRANT_AMOUNT_NOT_A_NUMBER;
        }
        while (WARRANT_IS_DIGIT(i)) {
            if (exponent < 1000000000) {
                exponent = exponent * 10 + (text[i] - '0');
            }
            i++;
        }
        if (negative) {
            exponent = -exponent;
        }
    }
#undef WARRANT_IS_DIGIT
    if (i != len) {
        return WARRANT_AMOUNT_NOT_A_NUMBER;
    }
    if (minus) {
        return WARRANT_AMOUNT_NEGATIVE;
    }

    /* The value is the digits of int and frac read as one integer D, times
     * 10^(exponent - number of frac digits); in minor units, times
     * 10^decimals more. Drop D's leading and trailing zeros first. */
    size_t int_len = int_end - int_start, count = int_len + (frac_end - frac_start);
#define WARRANT_DIGIT(k) ((k) < int_len ? text[int_start + (k)] : text[frac_start + (k) - int_len])
    size_t first = 0, last = count;
    while (first < count && WARRANT_DIGIT(first) == '0') {
        first++;
    }
    if (first == count) {
        *minor_units = 0;
        return WARRANT_AMOUNT_OK;
    }
    while (WARRANT_DIGIT(last - 1) == '0') {
        last--;
    }
    int64_t power = exponent - (int64_t)(frac_end - frac_start) + (int64_t)decimals + (int64_t)(count - last);
    if (power < 0) {
        /* The last significant digit is not zero and below the minor unit. */
        return WARRANT_AMOUNT_TOO_PRECISE;
    }
    if ((int64_t)(last - first) + power > 20) {
        return WARRANT_AMOUNT_TOO_LARGE;
    }
    uint64_t value = 0;
    for (size_t k = first; k < last + (size_t)power; k++) {
        unsigned digit = k < last ? (unsigned)(WARRANT_DIGIT(k) - '0') : 0;
        if (value > (UINT64_MAX - digit) / 10) {
            return WARRANT_AMOUNT_TOO_LARGE;
        }
        value = value * 10 + digit;
    }
#undef WARRANT_DIGIT
    *minor_units = value;
    return WARRANT_AMOUNT_OK;
}

static inline int warrant__hex4(const char *text) {
    int value = 0;
    for (int i = 0; i < 4; i++) {
        char c = text[i];
        int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (digit < 0) {
            return -1;
        }
        value = value * 16 + digit;
    }
    return value;
}

/* Decodes the inside of a JSON string (without its quotes) into UTF-8 in a
 * new `*out`: `\n`, `\"`, `\u00fc`, surrogate pairs such as `\ud83d\ude00`.
 * Returns false, with `*out` empty, on an invalid escape, a lone surrogate or
 * a raw control character. */
static inline bool warrant_json_unescape(const char *text, size_t len, policy_string_t *out) {
    *out = (policy_string_t){0};
    if (len == 0) {
        return true;
    }
    /* Decoding never lengthens: an escape is at least as long as its UTF-8. */
    uint8_t *buffer = malloc(len);
    if (buffer == NULL) {
        abort();
    }
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint8_t c = (uint8_t)text[i];
        if (c < 0x20) {
            goto invalid;
        }
        if (c != '\\') {
            buffer[n++] = c;
            i++;
            continue;
        }
        if (i + 1 >= len) {
            goto invalid;
        }
        char escape = text[i + 1];
        i += 2;
        switch (escape) {
        case '"':
        case '\\':
        case '/':
            buffer[n++] = (uint8_t)escape;
            continue;
        case 'b':
            buffer[n++] = '\b';
            continue;
        case 'f':
            buffer[n++] = '\f';
            continue;
        case 'n':
            buffer[n++] = '\n';
            continue;
        case 'r':
            buffer[n++] = '\r';
            continue;
        case 't':
            buffer[n++] = '\t';
            continue;
        case 'u':
            break;
        default:
            goto invalid;
        }
        int32_t code = i + 4 <= len ? warrant__hex4(text + i) : -1;
        i += 4;
        if (code < 0 || (code >= 0xDC00 && code <= 0xDFFF)) {
            goto invalid;
        }
        if (code >= 0xD800 && code <= 0xDBFF) {
            int32_t low = i + 6 <= len && text[i] == '\\' && text[i + 1] == 'u' ? warrant__hex4(text + i + 2) : -1;
            if (low < 0xDC00 || low > 0xDFFF) {
                goto invalid;
            }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
        }
        if (code < 0x80) {
            buffer[n++] = (uint8_t)code;
        } else if (code < 0x800) {
            buffer[n++] = (uint8_t)(0xC0 | code >> 6);
            buffer[n++] = (uint8_t)(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
            buffer[n++] = (uint8_t)(0xE0 | code >> 12);
            buffer[n++] = (uint8_t)(0x80 | (code >> 6 & 0x3F));
            buffer[n++] = (uint8_t)(0x80 | (code & 0x3F));
        } else {
            buffer[n++] = (uint8_t)(0xF0 | code >> 18);
            buffer[n++] = (uint8_t)(0x80 | (code >> 12 & 0x3F));
            buffer[n++] = (uint8_t)(0x80 | (code >> 6 & 0x3F));
            buffer[n++] = (uint8_t)(0x80 | (code & 0x3F));
        }
    }
    if (n == 0) {
        free(buffer);
        return true;
    }
    out->ptr = buffer;
    out->len = n;
    return true;
invalid:
    free(buffer);
    return false;
}

/* ------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------ */

/* A rule's configuration: its JSON text (borrowed, not copied) and its jsmn
 * tokens. `tokens[0]` is the object. */
typedef struct warrant_config {
    const char *json;
    jsmntok_t *tokens;
    int count;
} warrant_config_t;

/* Tokenizes `text`, which must be one JSON object. On success free `*config`
 * with `warrant_config_free` and keep `text` alive meanwhile; on failure
 * `*err` is set and there is nothing to free. */
static inline bool warrant_config_parse(warrant_config_t *config, const policy_string_t *text,
                                        policy_plugin_error_t *err) {
    *config = (warrant_config_t){.json = (const char *)text->ptr};
    jsmn_parser parser;
    jsmn_init(&parser);
    int count = jsmn_parse(&parser, config->json, text->len, NULL, 0);
    if (count > 0) {
        config->tokens = malloc((size_t)count * sizeof *config->tokens);
        if (config->tokens == NULL) {
            abort();
        }
        jsmn_init(&parser);
        count = jsmn_parse(&parser, config->json, text->len, config->tokens, (unsigned)count);
    }
    /* jsmn stops at the end of the first value: refuse anything after it but
     * white space. It also lets a key go without its value: check that every
     * key is a string followed by one. */
    bool object = count > 0 && config->tokens[0].type == JSMN_OBJECT;
    for (size_t i = object ? (size_t)config->tokens[0].end : 0; object && i < text->len; i++) {
        char c = config->json[i];
        object = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    }
    for (int i = 1; object && i < count; i++) {
        const jsmntok_t *token = &config->tokens[i];
        object = token->parent != 0 || (token->type == JSMN_STRING && token->size == 1 && i + 1 < count);
    }
    if (!object) {
        free(config->tokens);
        *config = (warrant_config_t){0};
        return warrant_invalid_config(err, warrant_string("the configuration must be a JSON object"));
    }
    config->count = count;
    return true;
}

/* Frees what `warrant_config_parse` allocated. */
static inline void warrant_config_free(warrant_config_t *config) {
    free(config->tokens);
    *config = (warrant_config_t){0};
}

/* Decodes the string token `index` into a new `*out`; false, with `*out`
 * empty, when the token is not a valid string. */
static inline bool warrant_config_string(const warrant_config_t *config, int index, policy_string_t *out) {
    const jsmntok_t *token = &config->tokens[index];
    *out = (policy_string_t){0};
    return token->type == JSMN_STRING
        && warrant_json_unescape(config->json + token->start, (size_t)(token->end - token->start), out);
}

/* Whether the key token `index` names `name`, escapes decoded. */
static inline bool warrant__key_is(const warrant_config_t *config, int index, const char *name) {
    policy_string_t key;
    if (!warrant_config_string(config, index, &key)) {
        return false;
    }
    bool equal = warrant_equals(&key, name);
    policy_string_free(&key);
    return equal;
}

/* The index of the first key token of the object after `after` (-1 for the
 * first), or -1 when there is none. Each key token is followed by its value. */
static inline int warrant__next_key(const warrant_config_t *config, int after) {
    for (int i = after < 0 ? 1 : after + 1; i < config->count; i++) {
        if (config->tokens[i].parent == 0) {
            return i;
        }
    }
    return -1;
}

/* Refuses a field that is not in `known` (a NULL-terminated list of names,
 * which may be empty: `{NULL}` for a configuration without fields) and a
 * field given twice. Configurations are checked strictly so that a
 * typo (`maxAmountEuro`) is an error rather than a limit silently ignored. */
static inline bool warrant_config_check_fields(const warrant_config_t *config, const char *const known[],
                                               policy_plugin_error_t *err) {
    for (int key = warrant__next_key(config, -1); key >= 0; key = warrant__next_key(config, key)) {
        const char *const *name = known;
        while (*name != NULL && !warrant__key_is(config, key, *name)) {
            name++;
        }
        if (*name != NULL) {
            for (int other = warrant__next_key(config, key); other >= 0; other = warrant__next_key(config, other)) {
                if (warrant__key_is(config, other, *name)) {
                    policy_string_t message = warrant_string("duplicate field `");
                    warrant_append(&message, *name);
                    warrant_append(&message, "`");
                    return warrant_invalid_config(err, message);
                }
            }
            continue;
        }
        policy_string_t message = warrant_string("unknown field `");
        policy_string_t key_text;
        if (warrant_config_string(config, key, &key_text)) {
            warrant_append_string(&message, &key_text);
            policy_string_free(&key_text);
        }
        /* Worded as serde, which Warrant's built-in plugins read with. */
        size_t count = 0;
        while (known[count] != NULL) {
            count++;
        }
        if (count == 0) {
            warrant_append(&message, "`, there are no fields");
        } else {
            warrant_append(&message, count <= 2 ? "`, expected " : "`, expected one of ");
        }
        for (size_t i = 0; i < count; i++) {
            warrant_append(&message, i == 0 ? "`" : count == 2 ? " or `" : ", `");
            warrant_append(&message, known[i]);
            warrant_append(&message, "`");
        }
        return warrant_invalid_config(err, message);
    }
    return true;
}

/* The index of the value token of the field `name`, or -1 when the
 * configuration has no such field. */
static inline int warrant_config_field(const warrant_config_t *config, const char *name) {
    for (int key = warrant__next_key(config, -1); key >= 0; key = warrant__next_key(config, key)) {
        if (warrant__key_is(config, key, name)) {
            return key + 1;
        }
    }
    return -1;
}

/* Whether the token `index` is JSON's `null`. */
static inline bool warrant_config_is_null(const warrant_config_t *config, int index) {
    const jsmntok_t *token = &config->tokens[index];
    return token->type == JSMN_PRIMITIVE && token->end - token->start == 4
        && memcmp(config->json + token->start, "null", 4) == 0;
}

static inline bool warrant__field_error(policy_plugin_error_t *err, const char *name, const char *problem) {
    policy_string_t message = warrant_string("`");
    warrant_append(&message, name);
    warrant_append(&message, "` ");
    warrant_append(&message, problem);
    return warrant_invalid_config(err, message);
}

/* Fills `err` with `invalid-config`: the required field `name` is missing,
 * worded as serde words it. Returns false. */
static inline bool warrant__missing_field(policy_plugin_error_t *err, const char *name) {
    policy_string_t message = warrant_string("missing field `");
    warrant_append(&message, name);
    warrant_append(&message, "`");
    return warrant_invalid_config(err, message);
}

/* Reads the optional amount field `name` into minor units with `decimals`
 * digits after the point (2 for cents): `*present` is false when the field
 * is absent or null. The value must be a JSON number, not a string, of at
 * least zero, with no non-zero digit below the minor unit. */
static inline bool warrant_config_optional_amount(const warrant_config_t *config, const char *name, unsigned decimals,
                                                  bool *present, uint64_t *minor_units, policy_plugin_error_t *err) {
    int index = warrant_config_field(config, name);
    *present = index >= 0 && !warrant_config_is_null(config, index);
    if (!*present) {
        return true;
    }
    const jsmntok_t *token = &config->tokens[index];
    warrant_amount_status_t status =
        token->type != JSMN_PRIMITIVE
            ? WARRANT_AMOUNT_NOT_A_NUMBER
            : warrant_parse_minor_units(config->json + token->start, (size_t)(token->end - token->start), decimals,
                                        minor_units);
    switch (status) {
    case WARRANT_AMOUNT_OK:
        return true;
    case WARRANT_AMOUNT_NEGATIVE:
        return warrant__field_error(err, name, "must not be negative");
    case WARRANT_AMOUNT_TOO_PRECISE: {
        policy_string_t message = warrant_string("`");
        warrant_append(&message, name);
        warrant_append(&message, "` must have at most ");
        warrant_append_u64(&message, decimals);
        warrant_append(&message, decimals == 1 ? " decimal" : " decimals");
        return warrant_invalid_config(err, message);
    }
    case WARRANT_AMOUNT_TOO_LARGE:
        return warrant__field_error(err, name, "is too large");
    case WARRANT_AMOUNT_NOT_A_NUMBER:
    default:
        return warrant__field_error(err, name, "must be a number");
    }
}

/* Reads the amount field `name`, which must be present; see
 * `warrant_config_optional_amount`. */
static inline bool warrant_config_amount(const warrant_config_t *config, const char *name, unsigned decimals,
                                         uint64_t *minor_units, policy_plugin_error_t *err) {
    bool present;
    if (!warrant_config_optional_amount(config, name, decimals, &present, minor_units, err)) {
        return false;
    }
    if (!present) {
        return warrant__missing_field(err, name);
    }
    return true;
}

/* Reads the optional field `name`, a whole number from 0 to `max`, into
 * `*value`: `*present` is false when the field is absent or null. The value
 * must be written as digits only, as serde reads an unsigned integer: `30`,
 * not `30.0`, `3e1`, `-0` or `"30"`. */
static inline bool warrant_config_optional_uint(const warrant_config_t *config, const char *name, uint64_t max,
                                                bool *present, uint64_t *value, policy_plugin_error_t *err) {
    int index = warrant_config_field(config, name);
    *present = index >= 0 && !warrant_config_is_null(config, index);
    if (!*present) {
        return true;
    }
    const jsmntok_t *token = &config->tokens[index];
    const char *text = config->json + token->start;
    size_t len = (size_t)(token->end - token->start);
    bool valid = token->type == JSMN_PRIMITIVE && len > 0;
    uint64_t n = 0;
    for (size_t i = 0; valid && i < len; i++) {
        unsigned digit = (unsigned)(text[i] - '0');
        valid = text[i] >= '0' && text[i] <= '9' && n <= (max - digit) / 10 && digit <= max;
        n = n * 10 + digit;
    }
    if (!valid) {
        policy_string_t message = warrant_string("`");
        warrant_append(&message, name);
        warrant_append(&message, "` must be a whole number from 0 to ");
        warrant_append_u64(&message, max);
        return warrant_invalid_config(err, message);
    }
    *value = n;
    return true;
}

/* Reads the whole number field `name`, which must be present; see
 * `warrant_config_optional_uint`. */
static inline bool warrant_config_uint(const warrant_config_t *config, const char *name, uint64_t max, uint64_t *value,
                                       policy_plugin_error_t *err) {
    bool present;
    if (!warrant_config_optional_uint(config, name, max, &present, value, err)) {
        return false;
    }
    if (!present) {
        return warrant__missing_field(err, name);
    }
    return true;
}

/* Reads the field `name`, a list of strings, into a new `*out` (escapes
 * decoded; free it with `policy_list_string_free`). An absent field is an
 * empty list; `null`, or anything but a list of strings, is an error. */
static inline bool warrant_config_strings(const warrant_config_t *config, const char *name, policy_list_string_t *out,
                                          policy_plugin_error_t *err) {
    *out = (policy_list_string_t){0};
    int index = warrant_config_field(config, name);
    if (index < 0) {
        return true;
    }
    const jsmntok_t *list = &config->tokens[index];
    if (list->type != JSMN_ARRAY) {
        return warrant__field_error(err, name, "must be a list of strings");
    }
    if (list->size > 0) {
        out->ptr = calloc((size_t)list->size, sizeof *out->ptr);
        if (out->ptr == NULL) {
            abort();
        }
    }
    for (int i = index + 1; i < config->count && config->tokens[i].start < list->end; i++) {
        if (config->tokens[i].parent != index) {
            continue;
        }
        if (!warrant_config_string(config, i, &out->ptr[out->len])) {
            for (size_t k = 0; k < out->len; k++) {
                policy_string_free(&out->ptr[k]);
            }
            free(out->ptr);
            *out = (policy_list_string_t){0};
            return warrant__field_error(err, name, "must be a list of strings");
        }
        out->len++;
    }
    return true;
}

/* ------------------------------------------------------------------------
 * Native tests
 * ------------------------------------------------------------------------ */

/* 2026-01-01T00:00:00Z, the `now` of `warrant_test_context`. */
#define WARRANT_TEST_NOW_SECONDS INT64_C(1767225600)

/* Sets `*context` to a context to start a native test from, as Warrant's
 * other SDKs give one: an intent (`int_test`) with no amount and no
 * merchant, paid with the card named `main`, from an active supervised
 * agent (`ag_test`) with no history (usage in EUR, zeros), no risk score,
 * at `WARRANT_TEST_NOW_SECONDS`; with WIT 0.3.0 also no baseline, the time
 * zone `UTC` and no charge. Its strings come from `malloc`, as the bindings
 * give them: change a field by freeing what it held (`policy_string_free`)
 * and setting it to `warrant_string(…)`, and hand the context to
 * `exports_policy_evaluate`, which frees it. */
static inline void warrant_test_context(policy_context_t *context) {
    *context = (policy_context_t){
        .intent =
            {
                .id = warrant_string("int_test"),
                .card = {.tag = WARRANT_POLICY_TYPES_CARD_NAME, .val.name = warrant_string("main")},
                .purpose = warrant_string("test"),
                .ttl_minutes = 1440,
            },
        .agent =
            {
                .id = warrant_string("ag_test"),
                .name = warrant_string("test agent"),
                .status = WARRANT_POLICY_TYPES_AGENT_STATUS_ACTIVE,
                .agent_type = WARRANT_POLICY_TYPES_AGENT_TYPE_SUPERVISED,
                .profile = {.purpose = warrant_string("testing")},
                .metadata = warrant_string("{}"),
            },
        .usage =
            {
                .currency = warrant_string("EUR"),
#ifndef WARRANT_WIT_0_1_0
                .timezone = warrant_string("UTC"),
#endif
            },
        .now = {.seconds = WARRANT_TEST_NOW_SECONDS},
    };
}

#endif /* WARRANT_H */
