"""Warrant's reference policy, the same in every language of `examples/`.

Configuration: `{"maxAmountEuros": n, "reviewAboveEuros": n?, "allow": [merchant, …]?}`.

Findings, checked in this order:
- no amount: review, `no-amount`;
- an amount in another currency than EUR: review, `currency-mismatch`;
- an amount over `maxAmountEuros`: deny, `amount-over-max`;
- an amount over `reviewAboveEuros`: review, `amount-over-review-threshold`;
- with a non-empty `allow`: no merchant: review, `no-merchant`; a
  merchant not in it (exact, ignoring ASCII letter case): deny,
  `merchant-not-allowed`.

Any deny finding denies, with the codes of the deny findings; else any
review finding reviews, with the codes of the review findings; else the
intent is approved. Every answer carries the annotation `maxAmount`
(`100.00 EUR`). An invalid configuration is the plugin's own error
(`invalid-config`), never an approval.

It reads only what every version of the contract has, so it builds
against WIT 0.3.0 (the default) and 0.1.0 alike.
"""

from warrant_sdk import (
    amount,
    approve,
    ascii_lowercase,
    defaulted,
    deny,
    export_policy,
    format_money,
    invalid_config,
    optional,
    read_config,
    review,
    strings,
)

# The rule's configuration. Amounts are ints of cents, read exactly from the
# JSON text. A missing or null threshold is none; a missing allow-list is
# empty, but `"allow": null` is refused, as in the Rust reference.
CONFIG = {
    "maxAmountEuros": amount(2),
    "reviewAboveEuros": optional(amount(2)),
    "allow": defaulted(strings(), []),
}


def evaluate(context, config_text):
    """Decides on `context.intent` under the rule's JSON configuration."""
    config = read_config(config_text, CONFIG)
    max_cents = config["maxAmountEuros"]
    review_above = config["reviewAboveEuros"]
    if review_above is not None and review_above > max_cents:
        raise invalid_config("`reviewAboveEuros` is above `maxAmountEuros`")

    denies = []
    reviews = []
    money = context.intent.amount
    merchant = context.intent.merchant
    if money is None:
        reviews.append(("no-amount", "the intent has no amount"))
    elif money.currency != "EUR":
        reason = f"the limits are in EUR, the intent in {money.currency}"
        reviews.append(("currency-mismatch", reason))
    elif money.minor_units > max_cents:
        reason = f"{format_money(money.minor_units)} is over the limit of {format_money(max_cents)}"
        denies.append(("amount-over-max", reason))
    elif review_above is not None and money.minor_units > review_above:
        reason = (
            f"{format_money(money.minor_units)} is above the review threshold of "
            f"{format_money(review_above)}"
        )
        reviews.append(("amount-over-review-threshold", reason))
    if config["allow"]:
        if merchant is None:
            reviews.append(("no-merchant", "the intent names no merchant"))
        else:
            # Only A-Z fold: `str.lower` would also match `BÜCHER` to `bücher`.
            wanted = ascii_lowercase(merchant)
            if not any(ascii_lowercase(allowed) == wanted for allowed in config["allow"]):
                denies.append(("merchant-not-allowed", f"`{merchant}` is not an allowed merchant"))

    if denies:
        decision, findings = deny(denies[0][1]), denies
    elif reviews:
        decision, findings = review(reviews[0][1]), reviews
    else:
        decision, findings = approve(), []
    for code, _ in findings:
        decision.with_code(code)
    return decision.with_annotation("maxAmount", format_money(max_cents))


# The name componentize-py looks for in the app module.
WitWorld = export_policy(evaluate)
