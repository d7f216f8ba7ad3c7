/*
 * `risk-threshold` in C: Warrant's built-in plugin of that name
 * (plugins/risk-threshold), ported. It approves, reviews or denies an
 * intent by the risk score of the policy's risk plugins.
 *
 * Configuration: {"autoApproveBelow": 30, "maxRiskThreshold": 80}. Both are
 * scores from 0 to 100 and optional; each one left out defaults by the
 * agent's type:
 *
 *     agent type    autoApproveBelow   maxRiskThreshold
 *     supervised    30                 80
 *     autonomous    20                 60
 *     advisory      50                 90
 *     mcp-server    30                 80
 *
 * `autoApproveBelow` above `maxRiskThreshold` (after the defaults) is an
 * invalid configuration.
 *
 * - no risk score (the policy has no risk plugins): review (`no-risk-score`);
 * - a score below `autoApproveBelow`: approve;
 * - a score above `maxRiskThreshold`: deny (`risk-above-max`);
 * - otherwise review (`risk-needs-review`).
 *
 * Reasons name the score, the thresholds and the strongest risk signals.
 * Decisions are annotated with `score`, `autoApproveBelow`,
 * `maxRiskThreshold` and `agentType`.
 */
#include "policy.h"
#include "warrant.h"

/* How many signals a reason names at most. */
#define TOP_SIGNALS 3

/* The thresholds for an agent type. */
static void defaults(warrant_policy_types_agent_type_t agent_type, uint64_t *approve_below, uint64_t *max) {
    switch (agent_type) {
    case WARRANT_POLICY_TYPES_AGENT_TYPE_AUTONOMOUS:
        *approve_below = 20, *max = 60;
        break;
    case WARRANT_POLICY_TYPES_AGENT_TYPE_ADVISORY:
        *approve_below = 50, *max = 90;
        break;
    case WARRANT_POLICY_TYPES_AGENT_TYPE_SUPERVISED:
    case WARRANT_POLICY_TYPES_AGENT_TYPE_MCP_SERVER:
    default:
        *approve_below = 30, *max = 80;
        break;
    }
}

static const char *type_name(warrant_policy_types_agent_type_t agent_type) {
    switch (agent_type) {
    case WARRANT_POLICY_TYPES_AGENT_TYPE_AUTONOMOUS:
        return "autonomous";
    case WARRANT_POLICY_TYPES_AGENT_TYPE_ADVISORY:
        return "advisory";
    case WARRANT_POLICY_TYPES_AGENT_TYPE_MCP_SERVER:
        return "mcp-server";
    case WARRANT_POLICY_TYPES_AGENT_TYPE_SUPERVISED:
    default:
        return "supervised";
    }
}

/* The number `n` as text. */
static policy_string_t number(uint64_t n) {
    policy_string_t s = {0};
    warrant_append_u64(&s, n);
    return s;
}

/* A score of the configuration: a whole number (as serde reads a `u32`),
 * then at most 100. */
static bool check_score(const char *field, bool present, uint64_t value, policy_plugin_error_t *err) {
    if (present && value > 100) {
        policy_string_t message = warrant_string("`");
        warrant_append(&message, field);
        warrant_append(&message, "` must be a score from 0 to 100, not ");
        warrant_append_u64(&message, value);
        return warrant_invalid_config(err, message);
    }
    return true;
}

/* Reads the thresholds into `*approve_below` and `*max`, the agent type's
 * defaults standing in for those left out. */
static bool read_config(const policy_string_t *text, warrant_policy_types_agent_type_t agent_type,
                        uint64_t *approve_below, uint64_t *max, policy_plugin_error_t *err) {
    static const char *const fields[] = {"autoApproveBelow", "maxRiskThreshold", NULL};
    warrant_config_t json;
    if (!warrant_config_parse(&json, text, err)) {
        return false;
    }
    bool has_approve_below, has_max;
    uint64_t approve_below_value = 0, max_value = 0;
    bool valid = warrant_config_check_fields(&json, fields, err)
        && warrant_config_optional_uint(&json, "autoApproveBelow", UINT32_MAX, &has_approve_below, &approve_below_value,
                                        err)
        && warrant_config_optional_uint(&json, "maxRiskThreshold", UINT32_MAX, &has_max, &max_value, err);
    warrant_config_free(&json);
    if (!valid || !check_score("autoApproveBelow", has_approve_below, approve_below_value, err)
        || !check_score("maxRiskThreshold", has_max, max_value, err)) {
        return false;
    }
    defaults(agent_type, approve_below, max);
    if (has_approve_below) {
        *approve_below = approve_below_value;
    }
    if (has_max) {
        *max = max_value;
    }
    if (*approve_below > *max) {
        policy_string_t message = warrant_string("`autoApproveBelow` (");
        warrant_append_u64(&message, *approve_below);
        warrant_append(&message, ") is above `maxRiskThreshold` (");
        warrant_append_u64(&message, *max);
        warrant_append(&message, ") for an agent of type ");
        warrant_append(&message, type_name(agent_type));
        return warrant_invalid_config(err, message);
    }
    return true;
}

static bool same_name(const policy_string_t *a, const policy_string_t *b) {
    return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

/* Appends `; strongest signals: a (60), b (30)`, the names of the
 * highest-scoring signals, each once; nothing when no signal scores above
 * 0. */
static void append_top_signals(policy_string_t *reason, const warrant_policy_types_list_signal_t *signals) {
    const warrant_policy_types_signal_t *named[TOP_SIGNALS];
    size_t count = 0;
    /* The signals by score, highest first, and among equal scores in the
     * policy's order: the first not named yet of the highest score left,
     * as often as there is room. */
    bool *taken = calloc(signals->len > 0 ? signals->len : 1, sizeof *taken);
    if (taken == NULL) {
        abort();
    }
    while (count < TOP_SIGNALS) {
        const warrant_policy_types_signal_t *best = NULL;
        size_t best_index = 0;
        for (size_t i = 0; i < signals->len; i++) {
            const warrant_policy_types_signal_t *signal = &signals->ptr[i];
            if (!taken[i] && signal->score > 0 && (best == NULL || signal->score > best->score)) {
                best = signal;
                best_index = i;
            }
        }
        if (best == NULL) {
            break;
        }
        taken[best_index] = true;
        bool known = false;
        for (size_t k = 0; k < count; k++) {
            known = known || same_name(&named[k]->name, &best->name);
        }
        if (!known) {
            named[count++] = best;
        }
    }
    free(taken);
    if (count == 0) {
        return;
    }
    warrant_append(reason, count == 1 ? "; strongest signal: " : "; strongest signals: ");
    for (size_t k = 0; k < count; k++) {
        if (k > 0) {
            warrant_append(reason, ", ");
        }
        warrant_append_string(reason, &named[k]->name);
        warrant_append(reason, " (");
        warrant_append_u64(reason, named[k]->score);
        warrant_append(reason, ")");
    }
}

static void decide(const policy_context_t *context, uint64_t approve_below, uint64_t max, policy_decision_t *decision) {
    if (!context->risk.is_some) {
        warrant_review(decision,
                       warrant_string("the policy has no risk score, so the risk threshold cannot be checked"));
        warrant_add_code(decision, "no-risk-score");
    } else {
        const warrant_policy_types_risk_summary_t *risk = &context->risk.val;
        uint64_t score = risk->score;
        if (score < approve_below) {
            warrant_approve(decision);
        } else if (score > max) {
            policy_string_t reason = warrant_string("the risk score ");
            warrant_append_u64(&reason, score);
            warrant_append(&reason, " is above the maximum of ");
            warrant_append_u64(&reason, max);
            append_top_signals(&reason, &risk->signals);
            warrant_deny(decision, reason);
            warrant_add_code(decision, "risk-above-max");
        } else {
            policy_string_t reason = warrant_string("the risk score ");
            warrant_append_u64(&reason, score);
            warrant_append(&reason, " is between the auto-approval threshold of ");
            warrant_append_u64(&reason, approve_below);
            warrant_append(&reason, " and the maximum of ");
            warrant_append_u64(&reason, max);
            append_top_signals(&reason, &risk->signals);
            warrant_review(decision, reason);
            warrant_add_code(decision, "risk-needs-review");
        }
        warrant_add_annotation(decision, "score", number(score));
    }
    warrant_add_annotation(decision, "autoApproveBelow", number(approve_below));
    warrant_add_annotation(decision, "maxRiskThreshold", number(max));
    warrant_add_annotation(decision, "agentType", warrant_string(type_name(context->agent.agent_type)));
}

/* The export of the `policy` world, called by the generated bindings. */
bool exports_policy_evaluate(policy_context_t *context, policy_string_t *config_text, policy_decision_t *decision,
                             policy_plugin_error_t *err) {
    uint64_t approve_below, max;
    bool valid = read_config(config_text, context->agent.agent_type, &approve_below, &max, err);
    if (valid) {
        decide(context, approve_below, max, decision);
    }
    /* The arguments belong to the callee: free them before returning. */
    policy_string_free(config_text);
    policy_context_free(context);
    return valid;
}
