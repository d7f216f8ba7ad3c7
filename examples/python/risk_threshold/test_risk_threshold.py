"""Unit tests of the risk-threshold plugin, the Rust built-in's tests in
Python, with the SDK's test contexts (see README.md for the command)."""

import unittest

from warrant_sdk import PluginError, testing

from .risk_threshold import evaluate

AgentType = testing.AgentType
EXPLICIT = '{"autoApproveBelow": 30, "maxRiskThreshold": 70}'


def signal(name, score):
    return testing.Signal(name, score, f"{name} detail")


def decide_as(agent_type, score, signals, config):
    cx = testing.context()
    cx.agent.agent_type = agent_type
    cx.risk = None if score is None else testing.RiskSummary(score, signals)
    return evaluate(cx, config)


def decide(score, config):
    return decide_as(AgentType.SUPERVISED, score, [], config)


class RiskThresholdTest(unittest.TestCase):
    def test_approves_a_score_below_the_auto_approval_threshold(self):
        decision = decide(29, EXPLICIT)
        self.assertEqual(decision.verdict, "approve")
        self.assertEqual(decision.codes, [])
        self.assertEqual(
            decision.annotations,
            [
                ("score", "29"),
                ("autoApproveBelow", "30"),
                ("maxRiskThreshold", "70"),
                ("agentType", "supervised"),
            ],
        )
        self.assertEqual(decide(0, EXPLICIT).verdict, "approve")

    def test_reviews_a_score_between_the_thresholds_inclusive(self):
        for score in [30, 50, 70]:
            decision = decide(score, EXPLICIT)
            self.assertEqual(decision.verdict, "review", score)
            self.assertEqual(decision.codes, ["risk-needs-review"])
        self.assertEqual(
            decide(30, EXPLICIT).reason,
            "the risk score 30 is between the auto-approval threshold of 30 and the maximum "
            "of 70",
        )

    def test_denies_a_score_above_the_maximum(self):
        decision = decide(71, EXPLICIT)
        self.assertEqual(decision.verdict, "deny")
        self.assertEqual(decision.codes, ["risk-above-max"])
        self.assertEqual(decision.reason, "the risk score 71 is above the maximum of 70")
        self.assertEqual(decision.annotation("score"), "71")
        self.assertEqual(decide(100, EXPLICIT).verdict, "deny")

    def test_reasons_name_the_strongest_signals(self):
        signals = [
            signal("unusual-hour", 25),
            signal("quiet", 0),
            signal("burst", 50),
            signal("new-merchant", 30),
            signal("amount-deviation", 45),
            signal("burst", 40),
        ]
        decision = decide_as(AgentType.SUPERVISED, 90, signals, EXPLICIT)
        self.assertEqual(
            decision.reason,
            "the risk score 90 is above the maximum of 70; strongest signals: burst (50), "
            "amount-deviation (45), new-merchant (30)",
        )
        decision = decide_as(
            AgentType.SUPERVISED, 40, [signal("new-merchant", 30), signal("quiet", 0)], EXPLICIT
        )
        self.assertEqual(
            decision.reason,
            "the risk score 40 is between the auto-approval threshold of 30 and the maximum "
            "of 70; strongest signal: new-merchant (30)",
        )
        # Among equal scores, the policy's order.
        decision = decide_as(
            AgentType.SUPERVISED, 90, [signal("b", 10), signal("a", 10), signal("c", 20)], EXPLICIT
        )
        self.assertTrue(decision.reason.endswith("strongest signals: c (20), b (10), a (10)"))

    def test_defaults_the_thresholds_by_agent_type(self):
        cases = [
            (AgentType.SUPERVISED, "supervised", 30, 80),
            (AgentType.AUTONOMOUS, "autonomous", 20, 60),
            (AgentType.ADVISORY, "advisory", 50, 90),
            (AgentType.MCP_SERVER, "mcp-server", 30, 80),
        ]
        for agent_type, name, approve_below, maximum in cases:
            with self.subTest(name):

                def at(score):
                    return decide_as(agent_type, score, [], "{}")

                decision = at(approve_below - 1)
                self.assertEqual(decision.verdict, "approve")
                self.assertEqual(decision.annotation("agentType"), name)
                self.assertEqual(decision.annotation("autoApproveBelow"), str(approve_below))
                self.assertEqual(decision.annotation("maxRiskThreshold"), str(maximum))
                self.assertEqual(at(approve_below).verdict, "review")
                self.assertEqual(at(maximum).verdict, "review")
                self.assertEqual(at(maximum + 1).codes, ["risk-above-max"])

    def test_defaults_only_what_is_left_out(self):
        # An autonomous agent: 20/60 by default.
        decision = decide_as(AgentType.AUTONOMOUS, 65, [], '{"maxRiskThreshold": 70}')
        self.assertEqual(decision.verdict, "review")
        self.assertEqual(decision.annotation("autoApproveBelow"), "20")
        decision = decide_as(AgentType.AUTONOMOUS, 45, [], '{"autoApproveBelow": 50}')
        self.assertEqual(decision.verdict, "approve")
        self.assertEqual(decision.annotation("maxRiskThreshold"), "60")
        # `null` is left out too.
        decision = decide_as(AgentType.AUTONOMOUS, 45, [], '{"autoApproveBelow": null}')
        self.assertEqual(decision.annotation("autoApproveBelow"), "20")

    def test_the_extremes_of_the_thresholds(self):
        # Nothing is approved automatically below 0; everything above 0 is denied.
        strict = '{"autoApproveBelow": 0, "maxRiskThreshold": 0}'
        self.assertEqual(decide(0, strict).verdict, "review")
        self.assertEqual(decide(1, strict).verdict, "deny")
        # Everything below 100 is approved; nothing is denied.
        lax = '{"autoApproveBelow": 100, "maxRiskThreshold": 100}'
        self.assertEqual(decide(99, lax).verdict, "approve")
        self.assertEqual(decide(100, lax).verdict, "review")
        # Equal thresholds review exactly that score.
        equal = '{"autoApproveBelow": 50, "maxRiskThreshold": 50}'
        self.assertEqual(decide(49, equal).verdict, "approve")
        self.assertEqual(decide(50, equal).verdict, "review")
        self.assertEqual(decide(51, equal).verdict, "deny")

    def test_reviews_without_a_risk_score(self):
        decision = decide_as(AgentType.AUTONOMOUS, None, [], "{}")
        self.assertEqual(decision.verdict, "review")
        self.assertEqual(decision.codes, ["no-risk-score"])
        self.assertEqual(
            decision.reason,
            "the policy has no risk score, so the risk threshold cannot be checked",
        )
        self.assertIsNone(decision.annotation("score"))
        self.assertEqual(decision.annotation("agentType"), "autonomous")

    def test_refuses_invalid_configurations(self):
        for config in [
            '{"autoApproveBelow": 101}',
            '{"maxRiskThreshold": 101}',
            '{"autoApproveBelow": -1}',
            '{"autoApproveBelow": -0}',
            '{"autoApproveBelow": 10.5}',
            '{"autoApproveBelow": 10.0}',
            '{"autoApproveBelow": 1e1}',
            '{"autoApproveBelow": "10"}',
            '{"autoApproveBelow": true}',
            '{"autoApproveBelow": 71, "maxRiskThreshold": 70}',
            # 90 is above the supervised default maximum of 80.
            '{"autoApproveBelow": 90}',
            # 20 is below the supervised default of 30.
            '{"maxRiskThreshold": 20}',
            '{"threshold": 50}',
            '{"autoApproveBelow": 10, "autoApproveBelow": 10}',
            "[]",
            "null",
            "not json",
        ]:
            with self.subTest(config):
                with self.assertRaises(PluginError) as raised:
                    decide(50, config)
                self.assertEqual(raised.exception.code, "invalid-config")
        with self.assertRaises(PluginError) as raised:
            decide(50, '{"autoApproveBelow": 101}')
        self.assertEqual(
            raised.exception.message, "`autoApproveBelow` must be a score from 0 to 100, not 101"
        )
        for config, message in [
            ('{"autoApproveBelow": 10.5}', "`autoApproveBelow` must be a whole number, without a fraction or exponent, not `10.5`"),
            ('{"maxRiskThreshold": -0}', "`maxRiskThreshold` must not be negative, not `-0`"),
            ('{"maxRiskThreshold": "10"}', '`maxRiskThreshold` must be a number, not `"10"`'),
            ('{"maxRiskThreshold": 4294967296}', "`maxRiskThreshold` must be at most 4294967295, not `4294967296`"),
            ('{"maxRiskThreshold": 4294967295}', "`maxRiskThreshold` must be a score from 0 to 100, not 4294967295"),
        ]:  # fmt: skip
            with self.assertRaises(PluginError) as raised:
                decide(50, config)
            self.assertEqual(raised.exception.message, message)
        with self.assertRaises(PluginError) as raised:
            decide(50, '{"autoApproveBelow": 90}')
        self.assertEqual(
            raised.exception.message,
            "`autoApproveBelow` (90) is above `maxRiskThreshold` (80) for an agent of type supervised",
        )
        # The same configuration is valid for an agent type whose default
        # allows it.
        decide_as(AgentType.ADVISORY, 10, [], '{"autoApproveBelow": 90}')
        # An invalid configuration is refused even without a risk score.
        with self.assertRaises(PluginError) as raised:
            decide_as(AgentType.SUPERVISED, None, [], '{"autoApproveBelow": 101}')
        self.assertEqual(raised.exception.code, "invalid-config")


if __name__ == "__main__":
    unittest.main()
