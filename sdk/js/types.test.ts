// A typed use of the package, compiled with `tsc --strict` (tsconfig.json)
// by warrant.test.mjs: it checks that warrant.d.ts and testing.d.ts
// describe the API and the WIT 0.3.0 context. It is never run.

import {
    ALERT,
    CONTRACT,
    SUSPEND_AGENT,
    amount,
    approve,
    boolean,
    defaulted,
    deny,
    formatMoney,
    integer,
    invalidConfig,
    log,
    optional,
    PluginError,
    readConfig,
    review,
    string,
    strings,
    trim,
    withConfig,
    type Assessment,
    type Context,
    type Decision,
    type Reader,
} from 'warrant-sdk';
import { NOW, context, takeLogs } from 'warrant-sdk/testing';

const CONFIG = {
    maxAmountEuros: amount(2),
    reviewAboveEuros: optional(amount(2)),
    allow: defaulted(strings(), []),
    tags: optional(strings(), ['none']),
    limit: integer(100n),
    name: string(),
    strict: boolean(),
};

export const evaluate = withConfig(CONFIG, (cx, config): Decision => {
    // Each field has its reader's type.
    const max: bigint = config.maxAmountEuros;
    const reviewAbove: bigint | undefined = config.reviewAboveEuros;
    const allow: string[] = config.allow;
    const tags: string[] = config.tags;
    const limit: bigint = config.limit;
    const name: string = config.name;
    const on: boolean = config.strict;
    // @ts-expect-error an optional field may be undefined
    const notOptional: bigint = config.reviewAboveEuros;
    void [reviewAbove, allow, tags, limit, name, on, notOptional];

    const money = cx.intent.amount;
    // @ts-expect-error an option may be undefined
    cx.intent.amount.minorUnits;
    if (money !== undefined && money.minorUnits > max) {
        return deny(`${formatMoney(money.minorUnits)} is over the limit`)
            .withCode('amount-over-max')
            .withAnnotation('limit', formatMoney(max))
            .withSuspendAgent('spent over the limit')
            .withAlert('an intent over the limit');
    }
    // The fields WIT 0.2.0 and 0.3.0 added.
    const zone: string = cx.usage.timezone;
    const flagged: bigint = cx.usage.lastMonth.flaggedCount + cx.usage.lastMonth.flaggedSpend;
    const hours: Uint8Array | undefined = cx.agent.baseline?.activeHours;
    const mean: bigint | undefined = cx.agent.baseline?.amountMean;
    const previous = cx.charge?.previous.length ?? 0;
    const started: bigint | undefined = cx.charge?.seriesStart.seconds;
    void [zone, flagged, hours, mean, previous, started];
    if (cx.agent.agentType === 'mcp-server' && cx.intent.card.tag === 'id') {
        return review(cx.intent.card.val).withAction('alert', 'a card by id');
    }
    // @ts-expect-error not an agent type
    if (cx.agent.agentType === 'mcp_server') {
        log.warn('never');
    }
    if (cx.risk !== undefined && cx.risk.score > 90) {
        const decision = deny('risky').withAction(SUSPEND_AGENT, 'risky');
        const kind: 'suspend-agent' = SUSPEND_AGENT;
        const alert: 'alert' = ALERT;
        void [kind, alert];
        return decision;
    }
    // @ts-expect-error a reason is required
    deny();
    // @ts-expect-error an action needs a message
    approve().withAction('alert');
    log.info(`contract ${CONTRACT}: ${trim(cx.intent.purpose)}`);
    return approve();
});

export const assess = withConfig({}, (cx: Context): Assessment => {
    const signals = cx.risk?.signals ?? [];
    return { score: Math.min(100, signals.length * 10), signals };
});

// A reader of one's own.
const percent: Reader<number> = (value, name) => {
    if (typeof value !== 'number') {
        throw invalidConfig(`\`${name}\` must be a number`);
    }
    return value;
};
const read: { share: number } = readConfig('{"share": 5}', { share: percent });

const cx: Context = context();
cx.intent.amount = { minorUnits: 15000n, currency: 'EUR' };
cx.charge = {
    amount: { minorUnits: 1000n, currency: 'EUR' },
    merchant: 'hetzner.com',
    at: NOW,
    seriesStart: { seconds: NOW.seconds - 86400n, nanoseconds: 0 },
    previous: [],
};
const decision = evaluate(cx, '{}');
const suspends: boolean = decision.hasAction(SUSPEND_AGENT);
const first: string | undefined = decision.annotation('limit');
const verdict: 'approve' | 'deny' | 'review' = decision.verdict.tag;
const logs: [string, string][] = takeLogs();
const error: PluginError = new PluginError('unknown-timezone', 'Europe/Berlin');
const code: string = error.code;
void [read, suspends, first, verdict, logs, code];
