"""`risk-threshold` in Python: approves, reviews or denies an intent by the
risk score of the policy's risk plugins. The same logic as Warrant's
built-in plugin (`plugins/risk-threshold`), with the same codes, reasons
and annotations.

Configuration: `{"autoApproveBelow": 30, "maxRiskThreshold": 80}`.

Both are scores from 0 to 100 and optional (a missing field or `null`);
each one left out defaults by the agent's type:

| agent type   | `autoApproveBelow` | `maxRiskThreshold` |
|--------------|--------------------|--------------------|
| `supervised` | 30                 | 80                 |
| `autonomous` | 20                 | 60                 |
| `advisory`   | 50                 | 90                 |
| `mcp-server` | 30                 | 80                 |

A score is a whole number written without a fraction or an exponent, as
Rust reads an integer: `10.5`, `1e1`, `-1` and `"10"` are refused.
`autoApproveBelow` above `maxRiskThreshold` (after the defaults) is an
invalid configuration.

- no risk score (the policy has no risk plugins): review
  (`no-risk-score`);
- a score below `autoApproveBelow`: approve;
- a score above `maxRiskThreshold`: deny (`risk-above-max`);
- otherwise review (`risk-needs-review`).

Reasons name the score, the thresholds and the strongest risk signals.
Decisions are annotated with `score`, `autoApproveBelow`,
`maxRiskThreshold` and `agentType`.
"""

from warrant_sdk import (
    approve,
    deny,
    enum_name,
    export_policy,
    integer,
    invalid_config,
    optional,
    read_config,
    review,
)

# How many signals a reason names at most.
TOP_SIGNALS = 3

# (`autoApproveBelow`, `maxRiskThreshold`) by agent type.
DEFAULTS = {
    "supervised": (30, 80),
    "autonomous": (20, 60),
    "advisory": (50, 90),
    "mcp-server": (30, 80),
}

# A u32, as the Rust plugin reads its thresholds: a whole number written as
# one (not `10.0`, `1e1`, `-0` or `"10"`).
U32_MAX = 2**32 - 1

# The rule's configuration: both thresholds may be left out, or null.
CONFIG = {
    "autoApproveBelow": optional(integer(U32_MAX)),
    "maxRiskThreshold": optional(integer(U32_MAX)),
}


def evaluate(context, config_text):
    """Decides on `context.intent` by the policy's risk score."""
    config = read_config(config_text, CONFIG)
    for field, value in config.items():
        if value is not None and value > 100:
            raise invalid_config(f"`{field}` must be a score from 0 to 100, not {value}")
    agent_type = enum_name(context.agent.agent_type)
    default_approve, default_max = DEFAULTS[agent_type]
    approve_below = config["autoApproveBelow"]
    if approve_below is None:
        approve_below = default_approve
    maximum = config["maxRiskThreshold"]
    if maximum is None:
        maximum = default_max
    if approve_below > maximum:
        raise invalid_config(
            f"`autoApproveBelow` ({approve_below}) is above `maxRiskThreshold` ({maximum}) "
            f"for an agent of type {agent_type}"
        )

    def thresholds(decision):
        return (
            decision.with_annotation("autoApproveBelow", approve_below)
            .with_annotation("maxRiskThreshold", maximum)
            .with_annotation("agentType", agent_type)
        )

    risk = context.risk
    if risk is None:
        return thresholds(
            review(
                "the policy has no risk score, so the risk threshold cannot be checked"
            ).with_code("no-risk-score")
        )
    signals = top_signals(risk.signals)
    if risk.score < approve_below:
        decision = approve()
    elif risk.score > maximum:
        decision = deny(
            f"the risk score {risk.score} is above the maximum of {maximum}{signals}"
        ).with_code("risk-above-max")
    else:
        decision = review(
            f"the risk score {risk.score} is between the auto-approval threshold of "
            f"{approve_below} and the maximum of {maximum}{signals}"
        ).with_code("risk-needs-review")
    return thresholds(decision.with_annotation("score", risk.score))


def top_signals(signals):
    """`; strongest signals: a (60), b (30)`, the names of the
    highest-scoring signals, each once; empty when no signal scores above
    0."""
    # Stable: among equal scores, the policy's order.
    ranked = sorted((s for s in signals if s.score > 0), key=lambda s: -s.score)
    named = []
    for signal in ranked:
        if len(named) == TOP_SIGNALS:
            break
        if all(n.name != signal.name for n in named):
            named.append(signal)
    if not named:
        return ""
    label = "strongest signal" if len(named) == 1 else "strongest signals"
    return f"; {label}: " + ", ".join(f"{s.name} ({s.score})" for s in named)


# The name componentize-py looks for in the app module.
WitWorld = export_policy(evaluate)
