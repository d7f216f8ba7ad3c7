// `risk-threshold`, Warrant's built-in plugin (plugins/risk-threshold), in
// JavaScript: approves, reviews or denies an intent by the risk score of
// the policy's risk plugins.
//
// Configuration: `{"autoApproveBelow": 30, "maxRiskThreshold": 80}`. Both
// are scores from 0 to 100 and optional; each one left out defaults by the
// agent's type:
//
// | agent type   | `autoApproveBelow` | `maxRiskThreshold` |
// |--------------|--------------------|--------------------|
// | `supervised` | 30                 | 80                 |
// | `autonomous` | 20                 | 60                 |
// | `advisory`   | 50                 | 90                 |
// | `mcp-server` | 30                 | 80                 |
//
// `autoApproveBelow` above `maxRiskThreshold` (after the defaults) is an
// invalid configuration.
//
// - no risk score (the policy has no risk plugins): review
//   (`no-risk-score`);
// - a score below `autoApproveBelow`: approve;
// - a score above `maxRiskThreshold`: deny (`risk-above-max`);
// - otherwise review (`risk-needs-review`).
//
// Reasons name the score, the thresholds and the strongest risk signals.
// Decisions are annotated with `score`, `autoApproveBelow`,
// `maxRiskThreshold` and `agentType`.

import { approve, deny, integer, invalidConfig, optional, review, withConfig } from 'warrant-sdk';

/**
 * The rule's configuration: scores as BigInts. Whole numbers up to 2^32 - 1,
 * as the Rust plugin's `u32` reads them; above 100 is refused by `score`.
 */
const CONFIG = {
    autoApproveBelow: optional(integer(2n ** 32n - 1n)),
    maxRiskThreshold: optional(integer(2n ** 32n - 1n)),
};

/** The thresholds by agent type: [`autoApproveBelow`, `maxRiskThreshold`]. */
const DEFAULTS = {
    supervised: [30, 80],
    autonomous: [20, 60],
    advisory: [50, 90],
    'mcp-server': [30, 80],
};

/** How many signals a reason names at most. */
const TOP_SIGNALS = 3;

function decide(context, config) {
    const agentType = context.agent.agentType;
    const [defaultApprove, defaultMax] = DEFAULTS[agentType];
    const approveBelow = score('autoApproveBelow', config.autoApproveBelow) ?? defaultApprove;
    const max = score('maxRiskThreshold', config.maxRiskThreshold) ?? defaultMax;
    if (approveBelow > max) {
        throw invalidConfig(
            `\`autoApproveBelow\` (${approveBelow}) is above \`maxRiskThreshold\` (${max}) ` +
                `for an agent of type ${agentType}`,
        );
    }

    const thresholds = (decision) =>
        decision
            .withAnnotation('autoApproveBelow', approveBelow)
            .withAnnotation('maxRiskThreshold', max)
            .withAnnotation('agentType', agentType);
    const risk = context.risk;
    if (risk === undefined) {
        return thresholds(
            review(
                'the policy has no risk score, so the risk threshold cannot be checked',
            ).withCode('no-risk-score'),
        );
    }
    const riskScore = risk.score;
    const signals = topSignals(risk.signals);

    let decision;
    if (riskScore < approveBelow) {
        decision = approve();
    } else if (riskScore > max) {
        decision = deny(`the risk score ${riskScore} is above the maximum of ${max}${signals}`)
            .withCode('risk-above-max');
    } else {
        decision = review(
            `the risk score ${riskScore} is between the auto-approval threshold of ` +
                `${approveBelow} and the maximum of ${max}${signals}`,
        ).withCode('risk-needs-review');
    }
    return thresholds(decision.withAnnotation('score', riskScore));
}

/** A configured score as a number; over 100 is an invalid configuration. */
function score(field, value) {
    if (value === undefined) {
        return undefined;
    }
    if (value > 100n) {
        throw invalidConfig(`\`${field}\` must be a score from 0 to 100, not ${value}`);
    }
    return Number(value);
}

/**
 * `; strongest signals: a (60), b (30)`, the names of the highest-scoring
 * signals, each once; empty when no signal scores above 0.
 */
function topSignals(signals) {
    const ranked = [];
    for (let i = 0; i < signals.length; i++) {
        if (signals[i].score > 0) {
            ranked.push(signals[i]);
        }
    }
    // Stable: among equal scores, the policy's order.
    ranked.sort((a, b) => b.score - a.score);
    const named = [];
    for (let i = 0; i < ranked.length && named.length < TOP_SIGNALS; i++) {
        const signal = ranked[i];
        let seen = false;
        for (let j = 0; j < named.length; j++) {
            if (named[j].name === signal.name) {
                seen = true;
            }
        }
        if (!seen) {
            named.push(signal);
        }
    }
    if (named.length === 0) {
        return '';
    }
    const names = [];
    for (let i = 0; i < named.length; i++) {
        names.push(`${named[i].name} (${named[i].score})`);
    }
    const label = names.length === 1 ? 'strongest signal' : 'strongest signals';
    return `; ${label}: ${names.join(', ')}`;
}

// The export of the `policy` world: reads the configuration, then decides.
export const evaluate = withConfig(CONFIG, decide);
