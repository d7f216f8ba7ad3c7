/*
 * Warrant's reference policy in C, the same in every language of examples/.
 *
 * Configuration: {"maxAmountEuros": n, "reviewAboveEuros": n?, "allow": [merchant, ...]?}.
 *
 * Findings, checked in this order:
 * - no amount: review, `no-amount`;
 * - an amount in another currency than EUR: review, `currency-mismatch`;
 * - an amount over `maxAmountEuros`: deny, `amount-over-max`;
 * - an amount over `reviewAboveEuros`: review, `amount-over-review-threshold`;
 * - with a non-empty `allow`: no merchant: review, `no-merchant`; a merchant
 *   not in it (exact, ignoring ASCII letter case): deny, `merchant-not-allowed`.
 *
 * Any deny finding denies, with the codes of the deny findings; else any
 * review finding reviews, with the codes of the review findings; else the
 * intent is approved. Every answer carries the annotation `maxAmount`
 * (`100.00 EUR`). An invalid configuration is the plugin's own error
 * (`invalid-config`), never an approval.
 */
#include "policy.h"
#include "warrant.h"

/* The rule's configuration; amounts in cents. */
typedef struct config {
    uint64_t max_amount;
    bool has_review_above;
    uint64_t review_above;
    policy_list_string_t allow;
} config_t;

/* Reads and checks the configuration into `*config`, which the caller frees
 * with `policy_list_string_free(&config->allow)` whatever the outcome. */
static bool read_config(const policy_string_t *text, config_t *config, policy_plugin_error_t *err) {
    static const char *const fields[] = {"maxAmountEuros", "reviewAboveEuros", "allow", NULL};
    warrant_config_t json;
    if (!warrant_config_parse(&json, text, err)) {
        return false;
    }
    bool valid = warrant_config_check_fields(&json, fields, err)
        && warrant_config_amount(&json, "maxAmountEuros", 2, &config->max_amount, err)
        && warrant_config_optional_amount(&json, "reviewAboveEuros", 2, &config->has_review_above,
                                          &config->review_above, err)
        && warrant_config_strings(&json, "allow", &config->allow, err);
    warrant_config_free(&json);
    if (!valid) {
        return false;
    }
    if (config->has_review_above && config->review_above > config->max_amount) {
        return warrant_invalid_config(err, warrant_string("`reviewAboveEuros` is above `maxAmountEuros`"));
    }
    for (size_t i = 0; i < config->allow.len; i++) {
        if (warrant_is_blank(&config->allow.ptr[i])) {
            return warrant_invalid_config(err, warrant_string("`allow` must list merchants, not empty strings"));
        }
    }
    return true;
}

/* A reason code and the text people read. */
typedef struct finding {
    const char *code;
    policy_string_t reason;
} finding_t;

/* The findings of one kind, deny or review, in the order they were made;
 * the policy makes at most two of a kind. */
typedef struct findings {
    finding_t items[2];
    size_t count;
} findings_t;

static void add_finding(findings_t *findings, const char *code, policy_string_t reason) {
    findings->items[findings->count++] = (finding_t){.code = code, .reason = reason};
}

/* Makes `*decision` the verdict `verdict` with the reason of the first
 * finding and the codes of all, then frees the reasons not used. */
static void conclude(policy_decision_t *decision, void (*verdict)(policy_decision_t *, policy_string_t),
                     findings_t *findings) {
    verdict(decision, findings->items[0].reason);
    findings->items[0].reason = (policy_string_t){0};
    for (size_t i = 0; i < findings->count; i++) {
        warrant_add_code(decision, findings->items[i].code);
    }
}

static void free_findings(findings_t *findings) {
    for (size_t i = 0; i < findings->count; i++) {
        policy_string_free(&findings->items[i].reason);
    }
}

static bool is_allowed(const config_t *config, const policy_string_t *merchant) {
    for (size_t i = 0; i < config->allow.len; i++) {
        if (warrant_equals_ignore_ascii_case(&config->allow.ptr[i], merchant)) {
            return true;
        }
    }
    return false;
}

static void decide(const config_t *config, const warrant_policy_types_intent_t *intent, policy_decision_t *decision) {
    findings_t denies = {0}, reviews = {0};

    const warrant_policy_types_money_t *amount = intent->amount.is_some ? &intent->amount.val : NULL;
    if (amount == NULL) {
        add_finding(&reviews, "no-amount", warrant_string("the intent has no amount"));
    } else if (!warrant_equals(&amount->currency, "EUR")) {
        policy_string_t reason = warrant_string("the limits are in EUR, the intent in ");
        warrant_append_string(&reason, &amount->currency);
        add_finding(&reviews, "currency-mismatch", reason);
    } else if (amount->minor_units > config->max_amount) {
        policy_string_t reason = warrant_euros(amount->minor_units);
        warrant_append(&reason, " is over the limit of ");
        warrant_append_euros(&reason, config->max_amount);
        add_finding(&denies, "amount-over-max", reason);
    } else if (config->has_review_above && amount->minor_units > config->review_above) {
        policy_string_t reason = warrant_euros(amount->minor_units);
        warrant_append(&reason, " is above the review threshold of ");
        warrant_append_euros(&reason, config->review_above);
        add_finding(&reviews, "amount-over-review-threshold", reason);
    }

    if (config->allow.len > 0) {
        if (!intent->merchant.is_some) {
            add_finding(&reviews, "no-merchant", warrant_string("the intent names no merchant"));
        } else if (!is_allowed(config, &intent->merchant.val)) {
            policy_string_t reason = warrant_string("`");
            warrant_append_string(&reason, &intent->merchant.val);
            warrant_append(&reason, "` is not an allowed merchant");
            add_finding(&denies, "merchant-not-allowed", reason);
        }
    }

    if (denies.count > 0) {
        conclude(decision, warrant_deny, &denies);
    } else if (reviews.count > 0) {
        conclude(decision, warrant_review, &reviews);
    } else {
        warrant_approve(decision);
    }
    free_findings(&denies);
    free_findings(&reviews);
    warrant_add_annotation(decision, "maxAmount", warrant_euros(config->max_amount));
}

/* The export of the `policy` world, called by the generated bindings. */
bool exports_policy_evaluate(policy_context_t *context, policy_string_t *config_text, policy_decision_t *decision,
                             policy_plugin_error_t *err) {
    config_t config = {0};
    bool valid = read_config(config_text, &config, err);
    if (valid) {
        decide(&config, &context->intent, decision);
    }
    policy_list_string_free(&config.allow);
    /* The arguments belong to the callee: free them before returning. */
    policy_string_free(config_text);
    policy_context_free(context);
    return valid;
}
