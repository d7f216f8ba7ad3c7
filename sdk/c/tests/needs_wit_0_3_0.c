/*
 * Must not compile: built for WIT 0.1.0 (WARRANT_WIT_0_1_0), a plugin that
 * asks for an action is refused by the compiler, since that contract has no
 * way to carry it. run.sh checks the error names the reason.
 */
#include "policy.h"
#include "warrant.h"

bool exports_policy_evaluate(policy_context_t *context, policy_string_t *config, policy_decision_t *decision,
                             policy_plugin_error_t *err) {
    (void)err;
    warrant_approve(decision);
    warrant_add_alert(decision, warrant_string("a large payment"));
    policy_string_free(config);
    policy_context_free(context);
    return true;
}
