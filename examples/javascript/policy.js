// Warrant's reference policy, the same in every language of `examples/`.
//
// Configuration: `{"maxAmountEuros": n, "reviewAboveEuros": n?, "allow": [merchant, …]?}`.
//
// Findings, checked in this order:
// - no amount: review, `no-amount`;
// - an amount in another currency than EUR: review, `currency-mismatch`;
// - an amount over `maxAmountEuros`: deny, `amount-over-max`;
// - an amount over `reviewAboveEuros`: review, `amount-over-review-threshold`;
// - with a non-empty `allow`: no merchant: review, `no-merchant`; a
//   merchant not in it (exact, ignoring ASCII letter case): deny,
//   `merchant-not-allowed`.
//
// Any deny finding denies, with the codes of the deny findings; else any
// review finding reviews, with the codes of the review findings; else the
// intent is approved. Every answer carries the annotation `maxAmount`
// (`100.00 EUR`). An invalid configuration is the plugin's own error
// (`invalid-config`), never an approval.

import {
    amount,
    approve,
    defaulted,
    deny,
    equalsIgnoreAsciiCase,
    formatMoney,
    invalidConfig,
    optional,
    review,
    strings,
    withConfig,
} from 'warrant-sdk';

/** The rule's configuration; amounts become BigInts of cents. */
const CONFIG = {
    maxAmountEuros: amount(2),
    reviewAboveEuros: optional(amount(2)),
    allow: defaulted(strings(), []),
};

/**
 * The policy. `context` is the WIT record with camelCase fields: u64
 * fields are BigInts, absent options `undefined`.
 */
function decide(context, config) {
    const max = config.maxAmountEuros;
    const reviewAbove = config.reviewAboveEuros;
    if (reviewAbove !== undefined && reviewAbove > max) {
        throw invalidConfig('`reviewAboveEuros` is above `maxAmountEuros`');
    }

    const denies = [];
    const reviews = [];
    const { amount: money, merchant } = context.intent;
    if (money === undefined) {
        reviews.push(['no-amount', 'the intent has no amount']);
    } else if (money.currency !== 'EUR') {
        reviews.push([
            'currency-mismatch',
            `the limits are in EUR, the intent in ${money.currency}`,
        ]);
    } else {
        const asked = formatMoney(money.minorUnits);
        if (money.minorUnits > max) {
            denies.push(['amount-over-max', `${asked} is over the limit of ${formatMoney(max)}`]);
        } else if (reviewAbove !== undefined && money.minorUnits > reviewAbove) {
            reviews.push([
                'amount-over-review-threshold',
                `${asked} is above the review threshold of ${formatMoney(reviewAbove)}`,
            ]);
        }
    }
    if (config.allow.length > 0) {
        if (merchant === undefined) {
            reviews.push(['no-merchant', 'the intent names no merchant']);
        } else if (!isAllowed(merchant, config.allow)) {
            denies.push(['merchant-not-allowed', `\`${merchant}\` is not an allowed merchant`]);
        }
    }

    let decision;
    let findings;
    if (denies.length > 0) {
        decision = deny(denies[0][1]);
        findings = denies;
    } else if (reviews.length > 0) {
        decision = review(reviews[0][1]);
        findings = reviews;
    } else {
        decision = approve();
        findings = [];
    }
    for (const [code] of findings) {
        decision.withCode(code);
    }
    return decision.withAnnotation('maxAmount', formatMoney(max));
}

/**
 * Whether `merchant` is in `allow`, exactly but for the case of ASCII
 * letters: `toLowerCase` would also match `BÜCHER` to `bücher`.
 */
function isAllowed(merchant, allow) {
    // An indexed loop: the list may hold hundreds of merchants, and the
    // engine, an interpreter, runs `for…of` or a `some` callback at many
    // times the cost.
    for (let i = 0; i < allow.length; i++) {
        if (equalsIgnoreAsciiCase(allow[i], merchant)) {
            return true;
        }
    }
    return false;
}

// The export of the `policy` world: reads the configuration, then decides.
// A decision returned is `ok`, a `PluginError` thrown is `err`.
export const evaluate = withConfig(CONFIG, decide);
