/*
 * Unit tests of warrant.h, compiled natively (run.sh) against the bindings
 * of WIT 0.3.0, and again against those of WIT 0.1.0 with
 * WARRANT_WIT_0_1_0 defined. Every allocation goes through alloc.c, and
 * every test ends with nothing left allocated: what warrant.h builds is
 * freed exactly once by the bindings' own free functions.
 *
 * It prints one line per test and `N passed, M failed` last, and exits
 * non-zero when a test failed.
 */
#include "policy.h"
#include "warrant.h"

#include <stdio.h>

/* ------------------------------------------------------------------------
 * A small harness
 * ------------------------------------------------------------------------ */

static int failed_checks;

#define CHECK(condition)                                                                                               \
    do {                                                                                                               \
        if (!(condition)) {                                                                                            \
            failed_checks++;                                                                                           \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #condition);                              \
        }                                                                                                              \
    } while (0)

/* Checks that the string `s` is `text`. */
#define CHECK_TEXT(s, text) check_text((s), (text), __FILE__, __LINE__)

static void check_text(const policy_string_t *s, const char *text, const char *file, int line) {
    if (s == NULL) {
        failed_checks++;
        fprintf(stderr, "%s:%d: expected `%s`, got no string\n", file, line, text);
    } else if (!warrant_equals(s, text)) {
        failed_checks++;
        fprintf(stderr, "%s:%d: expected `%s`, got `%.*s`\n", file, line, text, (int)s->len, (const char *)s->ptr);
    }
}

/* A string of the bindings' kind, from `malloc`, made from `text`. */
static policy_string_t text(const char *chars) {
    return warrant_string(chars);
}

/* ------------------------------------------------------------------------
 * What the host and the component type provide in WebAssembly, which a
 * native build provides itself
 * ------------------------------------------------------------------------ */

static int logged_level = -1;
static char logged[256];

/* The import the bindings call for `warrant_policy_host_log`; the host
 * provides it in WebAssembly. */
void __wasm_import_warrant_policy_host_log(int32_t level, uint8_t *ptr, size_t len) {
    logged_level = level;
    size_t n = len < sizeof logged - 1 ? len : sizeof logged - 1;
    memcpy(logged, ptr, n);
    logged[n] = '\0';
}

/* In WebAssembly, the bindings' `policy_component_type.o` defines this, to
 * be linked in with the component's type; natively there is no such type. */
void __component_type_object_force_link_policy(void) {
}

/* ------------------------------------------------------------------------
 * A plugin for the end-to-end test: the bindings call this export.
 *
 * Configuration: {"maxAmountEuros": n, "alertAboveEuros": n?}. Over the
 * maximum: deny (`amount-over-max`); over `alertAboveEuros`, with WIT
 * 0.3.0: an approval with an alert.
 * ------------------------------------------------------------------------ */

bool exports_policy_evaluate(policy_context_t *context, policy_string_t *config_text, policy_decision_t *decision,
                             policy_plugin_error_t *err) {
    static const char *const fields[] = {"maxAmountEuros", "alertAboveEuros", NULL};
    warrant_config_t config;
    uint64_t max = 0, alert_above = 0;
    bool alert = false;
    bool valid = warrant_config_parse(&config, config_text, err);
    if (valid) {
        valid = warrant_config_check_fields(&config, fields, err)
            && warrant_config_amount(&config, "maxAmountEuros", 2, &max, err)
            && warrant_config_optional_amount(&config, "alertAboveEuros", 2, &alert, &alert_above, err);
        warrant_config_free(&config);
    }
    if (valid) {
        const warrant_policy_types_option_money_t *amount = &context->intent.amount;
        if (amount->is_some && amount->val.minor_units > max) {
            policy_string_t reason = warrant_euros(amount->val.minor_units);
            warrant_append(&reason, " is over the limit of ");
            warrant_append_euros(&reason, max);
            warrant_deny(decision, reason);
            warrant_add_code(decision, "amount-over-max");
        } else {
            warrant_approve(decision);
#ifndef WARRANT_WIT_0_1_0
            if (alert && amount->is_some && amount->val.minor_units > alert_above) {
                warrant_add_alert(decision, warrant_string("a large payment"));
            }
#endif
        }
        warrant_add_annotation(decision, "maxAmount", warrant_euros(max));
    }
    policy_string_free(config_text);
    policy_context_free(context);
    return valid;
}

/* ------------------------------------------------------------------------
 * Amounts
 * ------------------------------------------------------------------------ */

static void reads_amounts_exactly(void) {
    static const struct {
        const char *text;
        unsigned decimals;
        warrant_amount_status_t status;
        uint64_t minor_units;
    } cases[] = {
        {"4.51", 2, WARRANT_AMOUNT_OK, 451},
        {"100", 2, WARRANT_AMOUNT_OK, 10000},
        {"100.0", 2, WARRANT_AMOUNT_OK, 10000},
        {"1e2", 2, WARRANT_AMOUNT_OK, 10000},
        {"1.5E1", 2, WARRANT_AMOUNT_OK, 1500},
        {"1E+2", 2, WARRANT_AMOUNT_OK, 10000},
        {"4510e-3", 2, WARRANT_AMOUNT_OK, 451},
        {"0", 2, WARRANT_AMOUNT_OK, 0},
        {"0.00", 2, WARRANT_AMOUNT_OK, 0},
        {"0e999999999999", 2, WARRANT_AMOUNT_OK, 0},
        {"0.07", 2, WARRANT_AMOUNT_OK, 7},
        {"5000", 0, WARRANT_AMOUNT_OK, 5000},
        {"1.5", 3, WARRANT_AMOUNT_OK, 1500},
        /* 2^53 + 1 cents, which a double cannot hold. */
        {"90071992547409.93", 2, WARRANT_AMOUNT_OK, 9007199254740993},
        {"18446744073709551615", 0, WARRANT_AMOUNT_OK, UINT64_MAX},
        {"184467440737095516.15", 2, WARRANT_AMOUNT_OK, UINT64_MAX},
        {"18446744073709551616", 0, WARRANT_AMOUNT_TOO_LARGE, 0},
        {"184467440737095516.16", 2, WARRANT_AMOUNT_TOO_LARGE, 0},
        {"1e30", 2, WARRANT_AMOUNT_TOO_LARGE, 0},
        {"1.001", 2, WARRANT_AMOUNT_TOO_PRECISE, 0},
        {"5000.5", 0, WARRANT_AMOUNT_TOO_PRECISE, 0},
        {"1e-3", 2, WARRANT_AMOUNT_TOO_PRECISE, 0},
        {"-1", 2, WARRANT_AMOUNT_NEGATIVE, 0},
        {"-0", 2, WARRANT_AMOUNT_NEGATIVE, 0},
        {"", 2, WARRANT_AMOUNT_NOT_A_NUMBER, 0},
        {"01", 2, WARRANT_AMOUNT_NOT_A_NUMBER, 0},
        {"1.", 2, WARRANT_AMOUNT_NOT_A_NUMBER, 0},
        {".5", 2, WARRANT_AMOUNT_NOT_A_NUMBER, 0},
        {"1e", 2, WARRANT_AMOUNT_NOT_A_NUMBER, 0},
        {"+1", 2, WARRANT_AMOUNT_NOT_A_NUMBER, 0},
        {"true", 2, WARRANT_AMOUNT_NOT_A_NUMBER, 0},
        {"1 ", 2, WARRANT_AMOUNT_NOT_A_NUMBER, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t value = 0;
        warrant_amount_status_t status =
            warrant_parse_minor_units(cases[i].text, strlen(cases[i].text), cases[i].decimals, &value);
        if (status != cases[i].status || (status == WARRANT_AMOUNT_OK && value != cases[i].minor_units)) {
            failed_checks++;
            fprintf(stderr, "`%s` with %u decimals: status %d, value %llu\n", cases[i].text, cases[i].decimals,
                    (int)status, (unsigned long long)value);
        }
    }
}

/* ------------------------------------------------------------------------
 * Text
 * ------------------------------------------------------------------------ */

static void builds_text_and_numbers(void) {
    policy_string_t s = {0};
    warrant_append(&s, "");
    CHECK(s.len == 0);
    warrant_append(&s, "n=");
    warrant_append_u64(&s, 0);
    warrant_append(&s, ",");
    warrant_append_u64(&s, UINT64_MAX);
    warrant_append(&s, ",");
    warrant_append_i64(&s, -42);
    warrant_append(&s, ",");
    warrant_append_i64(&s, INT64_MIN);
    warrant_append(&s, ",");
    warrant_append_i64(&s, INT64_MAX);
    CHECK_TEXT(&s, "n=0,18446744073709551615,-42,-9223372036854775808,9223372036854775807");
    policy_string_t other = text("+tail");
    warrant_append_string(&s, &other);
    warrant_append_bytes(&s, "\0x", 2);
    CHECK(s.len == 76 && s.ptr[74] == '\0' && s.ptr[75] == 'x');
    policy_string_free(&other);
    policy_string_free(&s);

    /* An empty string may hold a pointer malloc never gave: appending to it
     * must not hand that pointer to realloc. */
    policy_string_t dangling;
    policy_string_set(&dangling, "");
    warrant_append(&dangling, "grown");
    CHECK_TEXT(&dangling, "grown");
    policy_string_free(&dangling);
}

static void writes_amounts(void) {
    static const struct {
        uint64_t minor_units;
        unsigned decimals;
        const char *text;
    } cases[] = {
        {451, 2, "4.51"},  {7, 2, "0.07"},     {0, 2, "0.00"},  {10000, 2, "100.00"},
        {5000, 0, "5000"}, {1500, 3, "1.500"}, {1, 3, "0.001"}, {UINT64_MAX, 2, "184467440737095516.15"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        policy_string_t s = {0};
        warrant_append_amount(&s, cases[i].minor_units, cases[i].decimals);
        CHECK_TEXT(&s, cases[i].text);
        policy_string_free(&s);
    }
    policy_string_t euros = warrant_euros(451);
    CHECK_TEXT(&euros, "4.51 EUR");
    policy_string_free(&euros);
}

static void compares_text(void) {
    policy_string_t a = text("Hetzner.COM"), b = text("hetzner.com"), c = text("hetzner.co");
    CHECK(warrant_equals(&b, "hetzner.com"));
    CHECK(!warrant_equals(&a, "hetzner.com"));
    CHECK(!warrant_equals(&c, "hetzner.com"));
    CHECK(warrant_equals_ignore_ascii_case(&a, &b));
    CHECK(!warrant_equals_ignore_ascii_case(&b, &c));
    policy_string_t upper = text("B\303\234CHER.example"), lower = text("b\303\274cher.example");
    /* Only A-Z fold: Ü is not ü. */
    CHECK(!warrant_equals_ignore_ascii_case(&upper, &lower));
    policy_string_t empty = {0};
    CHECK(warrant_equals(&empty, ""));
    policy_string_free(&a);
    policy_string_free(&b);
    policy_string_free(&c);
    policy_string_free(&upper);
    policy_string_free(&lower);
}

static void trims_unicode_white_space(void) {
    static const struct {
        const char *text;
        const char *trimmed;
    } cases[] = {
        {"hetzner.com", "hetzner.com"},
        {"  hetzner.com\t\n", "hetzner.com"},
        {"\xC2\xA0hetzner.com\xE3\x80\x80", "hetzner.com"}, /* U+00A0, U+3000 */
        {"\xE2\x80\xA8 a b \xE2\x80\x89", "a b"},           /* U+2028, U+2009 */
        {"\xF0\x9F\x98\x80 ", "\xF0\x9F\x98\x80"},          /* an emoji stays */
        {" \xE2\x80\x8B ", "\xE2\x80\x8B"},                 /* U+200B is not white space */
        {"   ", ""},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        policy_string_t s = text(cases[i].text);
        policy_string_t trimmed = warrant_trim(&s);
        CHECK_TEXT(&trimmed, cases[i].trimmed);
        CHECK(warrant_is_blank(&s) == (cases[i].trimmed[0] == '\0'));
        policy_string_free(&s);
    }
    /* Bytes that are not UTF-8 are not white space. */
    policy_string_t invalid = text(" \x80 ");
    policy_string_t trimmed = warrant_trim(&invalid);
    CHECK(trimmed.len == 1 && trimmed.ptr[0] == 0x80);
    CHECK(!warrant_is_blank(&invalid));
    policy_string_free(&invalid);
}

static void decodes_json_strings(void) {
    static const struct {
        const char *json;
        const char *decoded; /* NULL: invalid */
    } cases[] = {
        {"plain", "plain"},
        {"a\\\"b\\\\c\\/d", "a\"b\\c/d"},
        {"\\b\\f\\n\\r\\t", "\b\f\n\r\t"},
        {"b\\u00fccher", "b\303\274cher"},
        {"\\u20AC", "\xE2\x82\xAC"},
        {"\\ud83d\\ude00", "\xF0\x9F\x98\x80"},
        {"", ""},
        {"\\x", NULL},
        {"\\u12", NULL},
        {"\\ud83d", NULL},
        {"\\ude00", NULL},
        {"\\ud83d\\u0041", NULL},
        {"tab\there", NULL},
        {"trailing\\", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        policy_string_t out;
        bool valid = warrant_json_unescape(cases[i].json, strlen(cases[i].json), &out);
        CHECK(valid == (cases[i].decoded != NULL));
        if (valid) {
            CHECK_TEXT(&out, cases[i].decoded);
        } else {
            CHECK(out.len == 0 && out.ptr == NULL);
        }
        policy_string_free(&out);
    }
}

/* ------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------ */

/* Parses `json`, checks it has only `known` fields, and runs `read` on it;
 * returns whether all succeeded. On failure `*message` is the error's
 * message (freed by the caller), and the error's code is checked to be
 * `invalid-config`. */
typedef bool (*reader_t)(const warrant_config_t *config, policy_plugin_error_t *err);

static const char *const *known_fields;
static reader_t reader;

static bool read_config(const char *json, policy_string_t *message) {
    policy_string_t config_text = text(json);
    policy_plugin_error_t err = {0};
    warrant_config_t config;
    bool valid = warrant_config_parse(&config, &config_text, &err);
    if (valid) {
        valid = (known_fields == NULL || warrant_config_check_fields(&config, known_fields, &err))
            && (reader == NULL || reader(&config, &err));
        warrant_config_free(&config);
    }
    policy_string_free(&config_text);
    *message = (policy_string_t){0};
    if (!valid) {
        CHECK(warrant_equals(&err.code, "invalid-config"));
        *message = err.message;
        err.message = (policy_string_t){0};
    }
    policy_plugin_error_free(&err);
    return valid;
}

/* Checks that `json` is refused with `expected` as the message. */
#define CHECK_REFUSED(json, expected)                                                                                  \
    do {                                                                                                               \
        policy_string_t message_;                                                                                      \
        CHECK(!read_config((json), &message_));                                                                        \
        CHECK_TEXT(&message_, (expected));                                                                             \
        policy_string_free(&message_);                                                                                 \
    } while (0)

#define CHECK_READ(json)                                                                                               \
    do {                                                                                                               \
        policy_string_t message_;                                                                                      \
        bool read_ = read_config((json), &message_);                                                                   \
        if (!read_) {                                                                                                  \
            fprintf(stderr, "%s:%d: `%s` refused: %.*s\n", __FILE__, __LINE__, (json), (int)message_.len,              \
                    (const char *)message_.ptr);                                                                       \
        }                                                                                                              \
        CHECK(read_);                                                                                                  \
        policy_string_free(&message_);                                                                                 \
    } while (0)

static void parses_only_a_json_object(void) {
    known_fields = NULL;
    reader = NULL;
    CHECK_READ("{}");
    CHECK_READ(" {\"a\": [1, {\"b\": null}]} \n");
    const char *not_objects[] = {"[]", "null", "1", "\"{}\"", "{} {}", "not json", "", "{\"a\"}", "{\"a\": 1"};
    for (size_t i = 0; i < sizeof not_objects / sizeof not_objects[0]; i++) {
        CHECK_REFUSED(not_objects[i], "the configuration must be a JSON object");
    }
}

static void refuses_unknown_and_repeated_fields(void) {
    reader = NULL;
    static const char *const none[] = {NULL};
    static const char *const one[] = {"max", NULL};
    static const char *const two[] = {"max", "min", NULL};
    static const char *const three[] = {"max", "min", "allow", NULL};
    known_fields = none;
    CHECK_READ("{}");
    CHECK_REFUSED("{\"strict\": true}", "unknown field `strict`, there are no fields");
    known_fields = one;
    CHECK_REFUSED("{\"maxi\": 1}", "unknown field `maxi`, expected `max`");
    known_fields = two;
    CHECK_READ("{\"min\": 1, \"max\": 2}");
    CHECK_REFUSED("{\"maxi\": 1}", "unknown field `maxi`, expected `max` or `min`");
    known_fields = three;
    CHECK_REFUSED("{\"maxi\": 1}", "unknown field `maxi`, expected one of `max`, `min`, `allow`");
    CHECK_REFUSED("{\"max\": 1, \"max\": 2}", "duplicate field `max`");
    /* Escapes in keys are decoded; fields of nested objects are not the
     * configuration's. */
    CHECK_REFUSED("{\"m\\u0061x\": 1, \"max\": 2}", "duplicate field `max`");
    CHECK_READ("{\"allow\": {\"maxi\": 1}}");
}

static uint64_t read_minor_units;
static bool read_present;

static bool read_amount(const warrant_config_t *config, policy_plugin_error_t *err) {
    return warrant_config_amount(config, "max", 2, &read_minor_units, err);
}

static bool read_optional_amount(const warrant_config_t *config, policy_plugin_error_t *err) {
    return warrant_config_optional_amount(config, "max", 2, &read_present, &read_minor_units, err);
}

static void reads_amount_fields(void) {
    known_fields = NULL;
    reader = read_amount;
    CHECK_READ("{\"max\": 4.51}");
    CHECK(read_minor_units == 451);
    CHECK_READ("{\"max\": 1e2}");
    CHECK(read_minor_units == 10000);
    CHECK_REFUSED("{}", "missing field `max`");
    CHECK_REFUSED("{\"max\": null}", "missing field `max`");
    CHECK_REFUSED("{\"max\": -1}", "`max` must not be negative");
    CHECK_REFUSED("{\"max\": 1.001}", "`max` must have at most 2 decimals");
    CHECK_REFUSED("{\"max\": \"100\"}", "`max` must be a number");
    CHECK_REFUSED("{\"max\": true}", "`max` must be a number");
    CHECK_REFUSED("{\"max\": [1]}", "`max` must be a number");
    CHECK_REFUSED("{\"max\": 1e30}", "`max` is too large");

    reader = read_optional_amount;
    CHECK_READ("{}");
    CHECK(!read_present);
    CHECK_READ("{\"max\": null}");
    CHECK(!read_present);
    CHECK_READ("{\"max\": 0}");
    CHECK(read_present && read_minor_units == 0);
}

static uint64_t read_whole;
static uint64_t whole_max;

static bool read_uint(const warrant_config_t *config, policy_plugin_error_t *err) {
    return warrant_config_optional_uint(config, "score", whole_max, &read_present, &read_whole, err);
}

static bool read_required_uint(const warrant_config_t *config, policy_plugin_error_t *err) {
    return warrant_config_uint(config, "score", whole_max, &read_whole, err);
}

static void reads_whole_numbers(void) {
    known_fields = NULL;
    reader = read_uint;
    whole_max = 100;
    CHECK_READ("{\"score\": 30}");
    CHECK(read_present && read_whole == 30);
    CHECK_READ("{\"score\": 100}");
    CHECK(read_whole == 100);
    CHECK_READ("{\"score\": 0}");
    CHECK(read_present && read_whole == 0);
    CHECK_READ("{\"score\": null}");
    CHECK(!read_present);
    CHECK_READ("{}");
    CHECK(!read_present);
    const char *refused[] = {"101", "30.0", "3e1", "-0", "-1", "\"30\"", "true", "[30]", "1000000000000000000000"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char json[64];
        snprintf(json, sizeof json, "{\"score\": %s}", refused[i]);
        CHECK_REFUSED(json, "`score` must be a whole number from 0 to 100");
    }
    whole_max = UINT32_MAX;
    CHECK_READ("{\"score\": 4294967295}");
    CHECK(read_whole == UINT32_MAX);
    CHECK_REFUSED("{\"score\": 4294967296}", "`score` must be a whole number from 0 to 4294967295");
    whole_max = UINT64_MAX;
    CHECK_READ("{\"score\": 18446744073709551615}");
    CHECK(read_whole == UINT64_MAX);
    CHECK_REFUSED("{\"score\": 18446744073709551616}", "`score` must be a whole number from 0 to 18446744073709551615");

    reader = read_required_uint;
    whole_max = 100;
    CHECK_READ("{\"score\": 7}");
    CHECK(read_whole == 7);
    CHECK_REFUSED("{}", "missing field `score`");
}

static policy_list_string_t read_list;

static bool read_strings(const warrant_config_t *config, policy_plugin_error_t *err) {
    policy_list_string_free(&read_list);
    return warrant_config_strings(config, "allow", &read_list, err);
}

static void reads_lists_of_strings(void) {
    known_fields = NULL;
    reader = read_strings;
    CHECK_READ("{\"allow\": [\"hetzner.com\", \"b\\u00fccher.example\", \"\"]}");
    CHECK(read_list.len == 3);
    if (read_list.len == 3) {
        CHECK_TEXT(&read_list.ptr[0], "hetzner.com");
        CHECK_TEXT(&read_list.ptr[1], "b\303\274cher.example");
        CHECK_TEXT(&read_list.ptr[2], "");
    }
    CHECK_READ("{}");
    CHECK(read_list.len == 0);
    CHECK_READ("{\"allow\": []}");
    CHECK(read_list.len == 0);
    CHECK_REFUSED("{\"allow\": null}", "`allow` must be a list of strings");
    CHECK_REFUSED("{\"allow\": \"hetzner.com\"}", "`allow` must be a list of strings");
    CHECK_REFUSED("{\"allow\": [\"a\", 1]}", "`allow` must be a list of strings");
    CHECK_REFUSED("{\"allow\": [[\"a\"]]}", "`allow` must be a list of strings");
    CHECK(read_list.len == 0);
    policy_list_string_free(&read_list);
}

/* ------------------------------------------------------------------------
 * Decisions
 * ------------------------------------------------------------------------ */

static void builds_decisions_with_codes_and_annotations(void) {
    policy_decision_t decision;
    warrant_approve(&decision);
    CHECK(decision.verdict.tag == WARRANT_POLICY_TYPES_VERDICT_APPROVE);
    CHECK(warrant_reason(&decision) == NULL);
    CHECK(decision.codes.len == 0 && decision.annotations.len == 0);
    warrant_add_annotation(&decision, "maxAmount", warrant_euros(10000));
    CHECK_TEXT(warrant_annotation(&decision, "maxAmount"), "100.00 EUR");
    CHECK(warrant_annotation(&decision, "other") == NULL);
    policy_decision_free(&decision);

    warrant_deny(&decision, text("150.00 EUR is over the limit of 100.00 EUR"));
    warrant_add_code(&decision, "amount-over-max");
    warrant_add_code(&decision, "merchant-not-allowed");
    warrant_add_annotation(&decision, "maxAmount", warrant_euros(10000));
    warrant_add_annotation(&decision, "maxAmount", text("second"));
    CHECK(decision.verdict.tag == WARRANT_POLICY_TYPES_VERDICT_DENY);
    CHECK_TEXT(warrant_reason(&decision), "150.00 EUR is over the limit of 100.00 EUR");
    CHECK(decision.codes.len == 2);
    CHECK_TEXT(&decision.codes.ptr[0], "amount-over-max");
    CHECK_TEXT(&decision.codes.ptr[1], "merchant-not-allowed");
    CHECK(warrant_has_code(&decision, "merchant-not-allowed"));
    CHECK(!warrant_has_code(&decision, "no-amount"));
    /* The first annotation of a key. */
    CHECK_TEXT(warrant_annotation(&decision, "maxAmount"), "100.00 EUR");
    CHECK(decision.annotations.len == 2);
    policy_decision_free(&decision);

    warrant_review(&decision, text("the intent has no amount"));
    warrant_add_code(&decision, "no-amount");
    CHECK(decision.verdict.tag == WARRANT_POLICY_TYPES_VERDICT_REVIEW);
    CHECK_TEXT(warrant_reason(&decision), "the intent has no amount");
    CHECK(warrant_has_code(&decision, "no-amount"));
    policy_decision_free(&decision);
}

#ifndef WARRANT_WIT_0_1_0
static void decisions_carry_actions(void) {
    policy_decision_t decision;
    warrant_approve(&decision);
    CHECK(decision.actions.len == 0);
    CHECK(!warrant_has_action(&decision, WARRANT_ACTION_ALERT));

    warrant_deny(&decision, text("the agent spent 10 times its usual amount"));
    warrant_add_code(&decision, "burst");
    warrant_add_suspend_agent(&decision, text("a burst of spending"));
    warrant_add_alert(&decision, text("suspended after a burst"));
    warrant_add_action(&decision, "page-someone", text("kinds the host does not know are passed on"));
    CHECK(decision.actions.len == 3);
    CHECK_TEXT(&decision.actions.ptr[0].kind, "suspend-agent");
    CHECK_TEXT(&decision.actions.ptr[0].message, "a burst of spending");
    CHECK_TEXT(&decision.actions.ptr[1].kind, "alert");
    CHECK_TEXT(&decision.actions.ptr[1].message, "suspended after a burst");
    CHECK_TEXT(&decision.actions.ptr[2].kind, "page-someone");
    CHECK(warrant_has_action(&decision, WARRANT_ACTION_SUSPEND_AGENT));
    CHECK(warrant_has_action(&decision, WARRANT_ACTION_ALERT));
    CHECK(warrant_has_action(&decision, "page-someone"));
    CHECK(!warrant_has_action(&decision, "suspend"));
    /* Actions leave the verdict, codes and annotations alone. */
    CHECK(decision.verdict.tag == WARRANT_POLICY_TYPES_VERDICT_DENY);
    CHECK(decision.codes.len == 1);
    policy_decision_free(&decision);

    /* An approval may carry an action too. */
    warrant_approve(&decision);
    warrant_add_alert(&decision, text("a large payment"));
    CHECK(decision.verdict.tag == WARRANT_POLICY_TYPES_VERDICT_APPROVE);
    CHECK(warrant_has_action(&decision, "alert"));
    CHECK(!warrant_has_action(&decision, "suspend-agent"));
    policy_decision_free(&decision);
}
#endif

static void plugin_errors_return_false(void) {
    policy_plugin_error_t err = {0};
    CHECK(!warrant_invalid_config(&err, text("`maxAmountEuros` is missing")));
    CHECK_TEXT(&err.code, "invalid-config");
    CHECK_TEXT(&err.message, "`maxAmountEuros` is missing");
    policy_plugin_error_free(&err);
    CHECK(!warrant_plugin_error(&err, "unknown-timezone", text("only UTC")));
    CHECK_TEXT(&err.code, "unknown-timezone");
    CHECK_TEXT(&err.message, "only UTC");
    policy_plugin_error_free(&err);
}

static void logs_to_the_host(void) {
    warrant_log(WARRANT_POLICY_HOST_LOG_LEVEL_WARN, "a line");
    CHECK(logged_level == WARRANT_POLICY_HOST_LOG_LEVEL_WARN);
    CHECK(strcmp(logged, "a line") == 0);
}

/* ------------------------------------------------------------------------
 * The test context and a whole evaluation
 * ------------------------------------------------------------------------ */

static void gives_a_test_context(void) {
    policy_context_t cx;
    warrant_test_context(&cx);
    CHECK_TEXT(&cx.intent.id, "int_test");
    CHECK(!cx.intent.amount.is_some && !cx.intent.merchant.is_some && !cx.intent.recurring.is_some);
    CHECK(cx.intent.card.tag == WARRANT_POLICY_TYPES_CARD_NAME);
    CHECK_TEXT(&cx.intent.card.val.name, "main");
    CHECK_TEXT(&cx.intent.purpose, "test");
    CHECK(cx.intent.ttl_minutes == 1440);
    CHECK_TEXT(&cx.agent.id, "ag_test");
    CHECK(cx.agent.status == WARRANT_POLICY_TYPES_AGENT_STATUS_ACTIVE);
    CHECK(cx.agent.agent_type == WARRANT_POLICY_TYPES_AGENT_TYPE_SUPERVISED);
    CHECK_TEXT(&cx.agent.profile.purpose, "testing");
    CHECK_TEXT(&cx.agent.metadata, "{}");
    CHECK_TEXT(&cx.usage.currency, "EUR");
    CHECK(cx.usage.last_day.count == 0 && cx.usage.calendar_month.spend == 0);
    CHECK(!cx.risk.is_some);
    CHECK(cx.now.seconds == WARRANT_TEST_NOW_SECONDS && cx.now.nanoseconds == 0);
#ifndef WARRANT_WIT_0_1_0
    CHECK(!cx.agent.baseline.is_some);
    CHECK_TEXT(&cx.usage.timezone, "UTC");
    CHECK(cx.usage.last_month.flagged_count == 0 && cx.usage.last_month.flagged_spend == 0);
    CHECK(!cx.charge.is_some);
#endif
    /* The bindings' free takes everything back. */
    policy_string_free(&cx.intent.purpose);
    cx.intent.purpose = text("servers");
    policy_context_free(&cx);
}

/* Runs the plugin above as the host would, on an intent for `cents`. */
static bool evaluate(const char *config, uint64_t cents, policy_decision_t *decision, policy_plugin_error_t *err) {
    policy_context_t cx;
    warrant_test_context(&cx);
    cx.intent.amount = (warrant_policy_types_option_money_t){
        .is_some = true,
        .val = {.minor_units = cents, .currency = text("EUR")},
    };
    policy_string_t config_text = text(config);
    *decision = (policy_decision_t){0};
    *err = (policy_plugin_error_t){0};
    return exports_policy_evaluate(&cx, &config_text, decision, err);
}

static void evaluates_a_whole_intent(void) {
    policy_decision_t decision;
    policy_plugin_error_t err;
    CHECK(evaluate("{\"maxAmountEuros\": 100}", 8640, &decision, &err));
    CHECK(decision.verdict.tag == WARRANT_POLICY_TYPES_VERDICT_APPROVE);
    CHECK_TEXT(warrant_annotation(&decision, "maxAmount"), "100.00 EUR");
    policy_decision_free(&decision);

    CHECK(evaluate("{\"maxAmountEuros\": 100}", 15000, &decision, &err));
    CHECK(decision.verdict.tag == WARRANT_POLICY_TYPES_VERDICT_DENY);
    CHECK_TEXT(warrant_reason(&decision), "150.00 EUR is over the limit of 100.00 EUR");
    CHECK(warrant_has_code(&decision, "amount-over-max"));
    policy_decision_free(&decision);

#ifndef WARRANT_WIT_0_1_0
    CHECK(evaluate("{\"maxAmountEuros\": 100, \"alertAboveEuros\": 50}", 8640, &decision, &err));
    CHECK(decision.verdict.tag == WARRANT_POLICY_TYPES_VERDICT_APPROVE);
    CHECK(warrant_has_action(&decision, WARRANT_ACTION_ALERT));
    policy_decision_free(&decision);
#endif

    CHECK(!evaluate("{\"maxAmountEuro\": 100}", 8640, &decision, &err));
    CHECK_TEXT(&err.code, "invalid-config");
    CHECK_TEXT(&err.message, "unknown field `maxAmountEuro`, expected `maxAmountEuros` or `alertAboveEuros`");
    policy_plugin_error_free(&err);
}

static void knows_its_versions(void) {
    CHECK(strcmp(WARRANT_SDK_VERSION, "0.3.0") == 0);
#ifdef WARRANT_WIT_0_1_0
    CHECK(strcmp(WARRANT_WIT_VERSION, "0.1.0") == 0);
#else
    CHECK(strcmp(WARRANT_WIT_VERSION, "0.3.0") == 0);
#endif
}

/* ------------------------------------------------------------------------ */

int main(void) {
    static const struct {
        const char *name;
        void (*run)(void);
    } tests[] = {
        {"reads amounts exactly", reads_amounts_exactly},
        {"builds text and numbers", builds_text_and_numbers},
        {"writes amounts", writes_amounts},
        {"compares text", compares_text},
        {"trims Unicode white space", trims_unicode_white_space},
        {"decodes JSON strings", decodes_json_strings},
        {"parses only a JSON object", parses_only_a_json_object},
        {"refuses unknown and repeated fields", refuses_unknown_and_repeated_fields},
        {"reads amount fields", reads_amount_fields},
        {"reads whole numbers", reads_whole_numbers},
        {"reads lists of strings", reads_lists_of_strings},
        {"builds decisions with codes and annotations", builds_decisions_with_codes_and_annotations},
#ifndef WARRANT_WIT_0_1_0
        {"decisions carry actions", decisions_carry_actions},
#endif
        {"plugin errors return false", plugin_errors_return_false},
        {"logs to the host", logs_to_the_host},
        {"gives a test context", gives_a_test_context},
        {"evaluates a whole intent", evaluates_a_whole_intent},
        {"knows its versions", knows_its_versions},
    };
    /* Line by line, so that a test that aborts (alloc.c stops at a bad
     * free) leaves the lines of the tests before it. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        failed_checks = 0;
        size_t before = test_live_blocks();
        tests[i].run();
        size_t live = test_live_blocks() - before;
        if (live != 0) {
            failed_checks++;
            fprintf(stderr, "%s: %zu blocks are still allocated\n", tests[i].name, live);
        }
        printf("%s  %s (WIT %s)\n", failed_checks == 0 ? "PASS" : "FAIL", tests[i].name, WARRANT_WIT_VERSION);
        if (failed_checks == 0) {
            passed++;
        } else {
            failed++;
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
