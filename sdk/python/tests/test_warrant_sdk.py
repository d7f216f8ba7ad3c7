"""Unit tests of warrant_sdk, with a plain Python: `python3 -m unittest` in
`sdk/python`, or `sdk/python/test.sh` from the repository's root."""

import dataclasses
import enum
import json
import re
import sys
import types
import unittest
from dataclasses import dataclass
from pathlib import Path

import warrant_sdk
from warrant_sdk import (
    ALERT,
    SUSPEND_AGENT,
    Number,
    PluginError,
    amount,
    approve,
    ascii_lowercase,
    boolean,
    contract,
    defaulted,
    deny,
    enum_name,
    equals_ignore_ascii_case,
    export_policy,
    format_money,
    integer,
    invalid_config,
    log,
    optional,
    read_config,
    review,
    string,
    strings,
    testing,
    trim,
)


def read_amount(json_number, decimals=2):
    return read_config(f'{{"a": {json_number}}}', {"a": amount(decimals)})["a"]


class ReadConfigTest(unittest.TestCase):
    def assert_invalid(self, text, fields, message):
        with self.assertRaises(PluginError) as raised:
            read_config(text, fields)
        self.assertEqual(raised.exception.code, "invalid-config")
        self.assertEqual(raised.exception.message, message)

    def test_reads_declared_fields(self):
        fields = {
            "max": amount(2),
            "label": string(),
            "allow": strings(),
            "strict": boolean(),
        }
        config = read_config(
            '{"max": 100.5, "label": "x", "allow": ["a.example"], "strict": true}', fields
        )
        self.assertEqual(
            config, {"max": 10050, "label": "x", "allow": ["a.example"], "strict": True}
        )

    def test_fills_in_optional_fields(self):
        fields = {"threshold": optional(amount(2)), "allow": optional(strings(), [])}
        self.assertEqual(read_config("{}", fields), {"threshold": None, "allow": []})
        self.assertEqual(read_config('{"threshold": null}', fields)["threshold"], None)
        self.assertEqual(read_config('{"allow": null}', fields)["allow"], [])
        self.assertEqual(read_config('{"threshold": 5}', fields)["threshold"], 500)

    def test_fills_in_defaulted_fields_only_when_missing(self):
        fields = {"allow": defaulted(strings(), []), "strict": defaulted(boolean(), False)}
        self.assertEqual(read_config("{}", fields), {"allow": [], "strict": False})
        self.assertEqual(read_config('{"allow": ["a.example"]}', fields)["allow"], ["a.example"])
        self.assert_invalid(
            '{"allow": null}', fields, "`allow` must be a list of strings, not `null`"
        )
        self.assert_invalid(
            '{"strict": null}', fields, "`strict` must be true or false, not `null`"
        )

    def test_gives_readers_numbers_as_their_text(self):
        def as_parsed(value, name):
            return value

        config = read_config('{"a": 1, "b": [2.50, 1E+2, -0]}', {"a": as_parsed, "b": as_parsed})
        self.assertEqual(config["a"], Number("1"))
        self.assertEqual(str(config["a"]), "1")
        self.assertEqual([number.text for number in config["b"]], ["2.50", "1E+2", "-0"])

    def test_refuses_what_is_not_an_object(self):
        for text in ["null", "[]", "3", '"{}"']:
            self.assert_invalid(text, {}, "the configuration must be a JSON object")

    def test_refuses_what_is_not_json(self):
        for text in ["", "{", "{'a': 1}", '{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}']:
            self.assert_invalid(
                text, {"a": optional(amount(2))}, "the configuration is not valid JSON"
            )
        self.assert_invalid("[" * 100_000, {}, "the configuration is not valid JSON")

    def test_refuses_unknown_and_duplicate_fields(self):
        self.assert_invalid(
            '{"max": 1, "colour": "red"}', {"max": amount(2)}, "unknown field `colour`"
        )
        self.assert_invalid(
            '{"max": 1, "max": 2}', {"max": amount(2)}, "field `max` is given twice"
        )
        self.assert_invalid(
            '{"max": 1, "allow": [], "max": 1}',
            {"max": amount(2), "allow": strings()},
            "field `max` is given twice",
        )
        # In a nested object too: `read_config` refuses it before any reader.
        self.assert_invalid(
            '{"rule": {"a": 1, "a": 1}}',
            {"rule": lambda value, name: value},
            "field `a` is given twice",
        )

    def test_refuses_a_missing_required_field(self):
        self.assert_invalid("{}", {"max": amount(2)}, "missing field `max`")
        self.assert_invalid("{}", {"label": string()}, "missing field `label`")

    def test_refuses_values_of_the_wrong_type(self):
        self.assert_invalid(
            '{"max": "100"}', {"max": amount(2)}, '`max` must be a number, not `"100"`'
        )
        self.assert_invalid(
            '{"max": true}', {"max": amount(2)}, "`max` must be a number, not `true`"
        )
        self.assert_invalid(
            '{"max": null}', {"max": amount(2)}, "`max` must be a number, not `null`"
        )
        self.assert_invalid(
            '{"label": 1}', {"label": string()}, "`label` must be a string, not `1`"
        )
        self.assert_invalid('{"on": 1}', {"on": boolean()}, "`on` must be true or false, not `1`")
        self.assert_invalid(
            '{"allow": "a.example"}',
            {"allow": strings()},
            '`allow` must be a list of strings, not `"a.example"`',
        )
        self.assert_invalid(
            '{"allow": [1]}', {"allow": strings()}, "`allow` must be a list of strings, not `[1]`"
        )

    def test_refuses_empty_and_blank_strings_in_a_list(self):
        for item in ['""', '" "', '"\\t"', '"\\u2003\\u0085"', '"\\u3000 \\u00a0"']:
            self.assert_invalid(
                f'{{"allow": ["a.example", {item}]}}',
                {"allow": strings()},
                "`allow` must not contain empty strings",
            )

    def test_keeps_strings_of_characters_that_are_not_white_space(self):
        # U+FEFF and the information separators U+001C to U+001F are not
        # Unicode White_Space, though `str.strip()` removes the latter.
        for item in ["\ufeff", "\x1c", "\x1f", "\u200b"]:
            with self.subTest(item=item):
                self.assertEqual(
                    read_config(json.dumps({"allow": [item]}), {"allow": strings()}),
                    {"allow": [item]},
                )

    def test_shortens_long_values_in_messages(self):
        with self.assertRaises(PluginError) as raised:
            read_config('{"allow": [' + ", ".join(["1"] * 100) + "]}", {"allow": strings()})
        self.assertLess(len(raised.exception.message), 120)
        self.assertTrue(raised.exception.message.endswith("…`"))

    def test_refuses_lone_surrogates(self):
        fields = {"label": optional(string()), "allow": optional(strings())}
        for text in [
            '{"label": "\\ud800"}',
            '{"label": "a\\udfff"}',
            '{"label": "\\ude00\\ud83d"}',
            '{"allow": ["a.example", "\\ud800"]}',
            '{"\\ud800": 1}',
            '{"\\ud800": 1, "\\ud800": 2}',
            '{"label": "x", "rest": [[{"\\udc00": 1}]]}',
        ]:
            with self.subTest(text=text):
                self.assert_invalid(text, fields, "the configuration is not valid JSON")

    def test_reads_surrogate_pairs(self):
        config = read_config('{"label": "\\ud83d\\ude00"}', {"label": string()})
        self.assertEqual(config["label"], "\U0001f600")


class AmountTest(unittest.TestCase):
    def test_reads_json_numbers_exactly(self):
        self.assertEqual(read_amount("100"), 10_000)
        self.assertEqual(read_amount("100.5"), 10_050)
        self.assertEqual(read_amount("4.51"), 451)
        self.assertEqual(read_amount("0.1"), 10)
        self.assertEqual(read_amount("0"), 0)
        self.assertEqual(read_amount("0.000"), 0)

    def test_reads_exponents(self):
        self.assertEqual(read_amount("1e2"), 10_000)
        self.assertEqual(read_amount("1E+2"), 10_000)
        self.assertEqual(read_amount("2.5E-1"), 25)
        self.assertEqual(read_amount("0.10e1"), 100)
        self.assertEqual(read_amount("10e-3"), 1)
        self.assertEqual(read_amount("0e999999999"), 0)

    def test_cancels_trailing_zeros_against_the_exponent(self):
        self.assertEqual(read_amount("1" + "0" * 90 + "e-85"), 10_000_000)
        self.assertEqual(read_amount("1" + "0" * 5000 + "e-5000"), 100)
        self.assertEqual(read_amount("1000.000e-3"), 100)
        self.assertEqual(read_amount("0.00e-999999999"), 0)

    def test_reads_any_exponent(self):
        # Larger than a 32-bit or 64-bit exponent, or than `int` reads.
        self.assertEqual(read_amount("0e400000000"), 0)
        self.assertEqual(read_amount("0e100000000000000000000"), 0)
        self.assertEqual(read_amount("0e-100000000000000000000"), 0)
        self.assertEqual(read_amount("0e" + "9" * 5000), 0)
        for text in ["1e500000000", "1e100000000000000000000", "1e" + "9" * 5000]:
            with self.assertRaisesRegex(PluginError, "must be at most 184467440737095516.15"):
                read_amount(text)
        for text in ["1e-500000000", "1e-100000000000000000000", "1e-" + "9" * 5000]:
            with self.assertRaisesRegex(PluginError, "must have at most 2 decimals"):
                read_amount(text)

    def test_reads_amounts_beyond_a_floats_precision(self):
        self.assertEqual(read_amount("92233720368547758.07"), 2**63 - 1)
        self.assertEqual(read_amount("184467440737095516.15"), 2**64 - 1)
        self.assertEqual(read_amount("90071992547409.93"), 2**53 + 1)
        self.assertEqual(read_amount("90071992547409.92"), 2**53)

    def test_accepts_zeros_below_the_minor_unit(self):
        self.assertEqual(read_amount("1.000"), 100)
        self.assertEqual(read_amount("1.0100000000000000000000000"), 101)

    def test_refuses_digits_below_the_minor_unit(self):
        for text in ["1.001", "0.005", "0.0010", "1e-3", "1e-999999999"]:
            with self.assertRaisesRegex(PluginError, "must have at most 2 decimals"):
                read_amount(text)
        with self.assertRaisesRegex(PluginError, "must have at most 0 decimals"):
            read_amount("1.5", decimals=0)

    def test_refuses_negative_amounts(self):
        for text in ["-1", "-0.5", "-0"]:
            with self.assertRaisesRegex(PluginError, "must not be negative"):
                read_amount(text)

    def test_refuses_amounts_over_a_u64_of_minor_units(self):
        for text in ["184467440737095516.16", "1e40", "1e999999999", "1" * 5000]:
            with self.assertRaisesRegex(PluginError, "must be at most 184467440737095516.15"):
                read_amount(text)
        self.assertEqual(read_amount("18446744073709551615", decimals=0), 2**64 - 1)

    def test_shortens_long_numbers_in_messages(self):
        with self.assertRaises(PluginError) as raised:
            read_amount("1" * 5000)
        self.assertLess(len(raised.exception.message), 150)


class IntegerTest(unittest.TestCase):
    def read(self, json_number, maximum=None):
        reader = integer() if maximum is None else integer(maximum)
        return read_config(f'{{"n": {json_number}}}', {"n": reader})["n"]

    def assert_refused(self, json_number, message, maximum=None):
        with self.assertRaises(PluginError) as raised:
            self.read(json_number, maximum)
        self.assertEqual(raised.exception.code, "invalid-config")
        self.assertEqual(raised.exception.message, message)

    def test_reads_whole_numbers_written_as_such(self):
        self.assertEqual(self.read("0"), 0)
        self.assertEqual(self.read("30"), 30)
        self.assertEqual(self.read("18446744073709551615"), 2**64 - 1)
        self.assertEqual(self.read("100", maximum=100), 100)

    def test_refuses_fractions_exponents_and_signs(self):
        for text in ["30.0", "3e1", "3E+1", "0.5"]:
            self.assert_refused(
                text, f"`n` must be a whole number, without a fraction or exponent, not `{text}`"
            )
        for text in ["-1", "-0", "-0.0"]:
            self.assert_refused(text, f"`n` must not be negative, not `{text}`")
        self.assert_refused('"30"', '`n` must be a number, not `"30"`')
        self.assert_refused("true", "`n` must be a number, not `true`")
        self.assert_refused("null", "`n` must be a number, not `null`")
        with self.assertRaisesRegex(PluginError, "missing field `n`"):
            read_config("{}", {"n": integer()})

    def test_refuses_more_than_the_maximum(self):
        self.assert_refused("101", "`n` must be at most 100, not `101`", maximum=100)
        self.assert_refused(
            "18446744073709551616",
            "`n` must be at most 18446744073709551615, not " "`18446744073709551616`",
        )
        # More digits than `int` reads from text.
        with self.assertRaisesRegex(PluginError, "^`n` must be at most 100, not `1111"):
            self.read("1" * 5000, maximum=100)
        # Leading zeros are not JSON, so `read_config` refuses them first.
        with self.assertRaisesRegex(PluginError, "not valid JSON"):
            self.read("007")


class DecisionTest(unittest.TestCase):
    def test_builds_verdicts(self):
        self.assertEqual((approve().verdict, approve().reason), ("approve", None))
        self.assertEqual((deny("no").verdict, deny("no").reason), ("deny", "no"))
        self.assertEqual((review("look").verdict, review("look").reason), ("review", "look"))

    def test_adds_codes_and_annotations_in_order(self):
        decision = (
            deny("over")
            .with_code("a")
            .with_code("b")
            .with_annotation("limit", 5)
            .with_annotation("x", "y")
        )
        self.assertEqual(decision.codes, ["a", "b"])
        self.assertEqual(decision.annotations, [("limit", "5"), ("x", "y")])
        self.assertEqual(decision.annotation("limit"), "5")
        self.assertIsNone(decision.annotation("missing"))

    def test_asks_for_actions_in_order(self):
        decision = (
            deny("stolen card")
            .with_suspend_agent("the card was reported stolen")
            .with_alert("a stolen card was used")
            .with_action("page-on-call", "wake someone up")
        )
        self.assertEqual(
            decision.actions,
            [
                ("suspend-agent", "the card was reported stolen"),
                ("alert", "a stolen card was used"),
                ("page-on-call", "wake someone up"),
            ],
        )
        self.assertEqual((SUSPEND_AGENT, ALERT), ("suspend-agent", "alert"))
        self.assertTrue(decision.has_action(SUSPEND_AGENT))
        self.assertTrue(decision.has_action("alert"))
        self.assertTrue(decision.has_action("page-on-call"))
        self.assertFalse(decision.has_action("suspend"))
        self.assertIn("actions=[('suspend-agent', ", repr(decision))

    def test_asks_for_no_action_unless_told(self):
        for decision in [approve(), deny("no"), review("look").with_code("a")]:
            self.assertEqual(decision.actions, [])
            self.assertFalse(decision.has_action(SUSPEND_AGENT))
            self.assertFalse(decision.has_action(ALERT))

    def test_actions_go_with_any_verdict(self):
        decision = approve().with_alert("approved at 3 a.m.")
        self.assertEqual(decision.verdict, "approve")
        self.assertEqual(decision.actions, [("alert", "approved at 3 a.m.")])

    def test_makes_invalid_config_errors(self):
        error = invalid_config("`max` is missing")
        self.assertIsInstance(error, PluginError)
        self.assertEqual((error.code, error.message), ("invalid-config", "`max` is missing"))


class TextTest(unittest.TestCase):
    def test_formats_money(self):
        self.assertEqual(format_money(10_050), "100.50 EUR")
        self.assertEqual(format_money(0), "0.00 EUR")
        self.assertEqual(format_money(5), "0.05 EUR")
        self.assertEqual(format_money(2**64 - 1), "184467440737095516.15 EUR")
        self.assertEqual(format_money(5000, "JPY", 0), "5000 JPY")
        self.assertEqual(format_money(1, "BHD", 3), "0.001 BHD")

    def test_folds_only_ascii_letters(self):
        self.assertEqual(ascii_lowercase("BüCHER.EXAMPLE"), "bücher.example")
        self.assertEqual(ascii_lowercase("BÜCHER"), "bÜcher")
        # The Kelvin sign, which `str.lower` turns into `k`.
        self.assertEqual(ascii_lowercase("\u212a"), "\u212a")
        self.assertTrue(equals_ignore_ascii_case("Hetzner.COM", "hetzner.com"))
        self.assertFalse(equals_ignore_ascii_case("BÜCHER.example", "bücher.example"))
        self.assertFalse(equals_ignore_ascii_case("hetzner.com", "hetzner.co"))

    def test_names_enum_cases_as_the_wit_does(self):
        self.assertEqual(enum_name(testing.AgentType.MCP_SERVER), "mcp-server")
        self.assertEqual(enum_name(testing.AgentType.SUPERVISED), "supervised")
        self.assertEqual(enum_name(testing.Cadence.MONTHLY), "monthly")
        self.assertEqual(enum_name(testing.AgentStatus.ARCHIVED), "archived")

    def test_trims_unicode_white_space_as_rust_does(self):
        self.assertEqual(trim(" \t\n\v\f\r a b \x85\xa0\u1680"), "a b")
        self.assertEqual(trim("\u2000\u200a\u2028\u2029\u202f\u205f\u3000a"), "a")
        for kept in ["\ufeff", "\x1c", "\x1d", "\x1e", "\x1f", "\u200b", "\u180e"]:
            self.assertEqual(trim(kept), kept)


# Stand-ins for the modules componentize-py generates for the `policy` world,
# with the shapes of its bindings: those of WIT 0.3.0, and what differs in
# 0.2.0 (no flagged counts) and 0.1.0 (no actions either).
@dataclass
class Verdict_Approve:
    pass


@dataclass
class Verdict_Deny:
    value: str


@dataclass
class Verdict_Review:
    value: str


@dataclass
class Annotation:
    key: str
    value: str


@dataclass
class Action:
    kind: str
    message: str


@dataclass
class Decision:
    verdict: object
    codes: list
    annotations: list
    actions: list


@dataclass
class Decision_0_1_0:
    verdict: object
    codes: list
    annotations: list


@dataclass
class WindowUsage:
    count: int
    spend: int
    flagged_count: int
    flagged_spend: int


@dataclass
class WindowUsage_0_2_0:
    count: int
    spend: int


@dataclass
class WitPluginError:
    code: str
    message: str


@dataclass(frozen=True)
class Err(Exception):
    value: object


class LogLevel(enum.Enum):
    DEBUG = 0
    INFO = 1
    WARN = 2
    ERROR = 3


def bindings(version):
    """The types module of the bindings of a contract version."""
    wit_types = types.SimpleNamespace(
        Verdict_Approve=Verdict_Approve,
        Verdict_Deny=Verdict_Deny,
        Verdict_Review=Verdict_Review,
        Annotation=Annotation,
        Action=Action,
        Decision=Decision,
        WindowUsage=WindowUsage,
        PluginError=WitPluginError,
    )
    if version == "0.2.0":
        wit_types.WindowUsage = WindowUsage_0_2_0
    if version == "0.1.0":
        del wit_types.Action
        wit_types.Decision = Decision_0_1_0
        wit_types.WindowUsage = WindowUsage_0_2_0
    return wit_types


class ExportPolicyTest(unittest.TestCase):
    """`export_policy` with the bindings of WIT 0.3.0."""

    version = "0.3.0"

    def setUp(self):
        self.logged = []
        host = types.SimpleNamespace(
            LogLevel=LogLevel, log=lambda level, message: self.logged.append((level, message))
        )
        imports = types.ModuleType("wit_world.imports")
        imports.types, imports.host = bindings(self.version), host
        world = types.ModuleType("wit_world")
        world.WitWorld, world.imports = object, imports
        runtime = types.ModuleType("componentize_py_types")
        runtime.Err = Err
        modules = {
            "wit_world": world,
            "wit_world.imports": imports,
            "componentize_py_types": runtime,
        }
        self.saved = {name: sys.modules.get(name) for name in modules}
        sys.modules.update(modules)
        self.addCleanup(self.restore)

    def restore(self):
        for name, module in self.saved.items():
            if module is None:
                del sys.modules[name]
            else:
                sys.modules[name] = module
        warrant_sdk.log._host = None
        warrant_sdk._bound.contract = None

    def test_tells_the_contract(self):
        self.assertIsNone(contract())
        export_policy(lambda context, config_text: approve())
        self.assertEqual(contract(), self.version)

    def test_converts_decisions(self):
        def evaluate(context, config_text):
            log.warn(f"config {config_text}")
            return review("look").with_code("a").with_annotation("k", "v")

        answer = export_policy(evaluate)().evaluate(None, "{}")
        self.assertEqual(
            answer, Decision(Verdict_Review("look"), ["a"], [Annotation("k", "v")], [])
        )
        self.assertEqual(self.logged, [(LogLevel.WARN, "config {}")])

    def test_converts_actions(self):
        def evaluate(context, config_text):
            return (
                deny("no")
                .with_suspend_agent("stolen card")
                .with_alert("look at this agent")
                .with_action("custom", "for the trace")
            )

        answer = export_policy(evaluate)().evaluate(None, "{}")
        self.assertEqual(
            answer.actions,
            [
                Action("suspend-agent", "stolen card"),
                Action("alert", "look at this agent"),
                Action("custom", "for the trace"),
            ],
        )
        self.assertEqual(answer.verdict, Verdict_Deny("no"))
        self.assertEqual(self.logged, [])

    def test_converts_plugin_errors(self):
        def evaluate(context, config_text):
            return read_config(config_text, {"max": amount(2)})

        with self.assertRaises(Err) as raised:
            export_policy(evaluate)().evaluate(None, "[]")
        self.assertEqual(
            raised.exception.value,
            WitPluginError("invalid-config", "the configuration must be a JSON object"),
        )

    def test_logs_other_exceptions_before_trapping(self):
        def evaluate(context, config_text):
            raise ValueError("boom")

        with self.assertRaises(ValueError):
            export_policy(evaluate)().evaluate(None, "{}")
        [(level, message)] = self.logged
        self.assertEqual(level, LogLevel.ERROR)
        self.assertRegex(message, r"^ValueError: boom \(test_warrant_sdk.py, line \d+\)$")

    def test_refuses_an_answer_that_is_not_a_decision(self):
        with self.assertRaises(TypeError):
            export_policy(lambda context, config_text: None)().evaluate(None, "{}")
        self.assertEqual(
            self.logged[0][1].split(" (")[0],
            "TypeError: evaluate must return a Decision, not NoneType",
        )


class ExportPolicyOutsideAComponentTest(unittest.TestCase):
    def test_binds_nothing_without_generated_bindings(self):
        self.assertNotIn("wit_world", sys.modules)
        self.assertIsNone(export_policy(lambda context, config_text: approve()))
        self.assertIsNone(contract())
        self.assertIsNone(warrant_sdk.log._host)
        # Actions are then never refused: no contract is known.
        self.assertTrue(approve().with_alert("x").has_action(ALERT))


class ExportPolicy_0_2_0_Test(ExportPolicyTest):
    """`export_policy` with the bindings of WIT 0.2.0, which have actions."""

    version = "0.2.0"


class ExportPolicy_0_1_0_Test(ExportPolicyTest):
    """`export_policy` with the bindings of WIT 0.1.0, which have no actions."""

    version = "0.1.0"

    def test_converts_decisions(self):
        def evaluate(context, config_text):
            return deny("no").with_code("a").with_annotation("k", "v")

        answer = export_policy(evaluate)().evaluate(None, "{}")
        self.assertEqual(answer, Decision_0_1_0(Verdict_Deny("no"), ["a"], [Annotation("k", "v")]))

    def test_converts_actions(self):
        # Asking for an action raises where it is asked for, and the call
        # traps: the decision never reaches the host without it.
        def evaluate(context, config_text):
            return deny("no").with_suspend_agent("stolen card")

        with self.assertRaises(RuntimeError) as raised:
            export_policy(evaluate)().evaluate(None, "{}")
        message = (
            "the decision asks for an action (`suspend-agent`), which WIT 0.1.0 cannot "
            "carry: build the plugin against WIT 0.3.0"
        )
        self.assertEqual(str(raised.exception), message)
        [(level, logged)] = self.logged
        self.assertEqual(level, LogLevel.ERROR)
        # Where the plugin asked for it, not where the SDK raised.
        self.assertRegex(logged, r"\(test_warrant_sdk.py, line \d+\)$")
        self.assertTrue(logged.startswith(f"RuntimeError: {message} ("), logged)
        for ask in [
            lambda: approve().with_alert("x"),
            lambda: approve().with_action("custom", "x"),
        ]:
            with self.assertRaisesRegex(RuntimeError, "WIT 0.1.0 cannot carry"):
                ask()

    def test_refuses_a_decision_with_actions_added_directly(self):
        def evaluate(context, config_text):
            decision = approve()
            decision.actions.append((ALERT, "added to the list"))
            return decision

        with self.assertRaisesRegex(RuntimeError, r"\(`alert`\), which WIT 0.1.0 cannot carry"):
            export_policy(evaluate)().evaluate(None, "{}")


class TestingTest(unittest.TestCase):
    def test_gives_a_context_of_the_newest_contract(self):
        cx = testing.context()
        self.assertIsNone(cx.intent.amount)
        self.assertIsNone(cx.intent.merchant)
        self.assertEqual(cx.intent.card, testing.Card_Name("main"))
        self.assertIsNone(cx.intent.recurring)
        self.assertEqual(cx.agent.status, testing.AgentStatus.ACTIVE)
        self.assertEqual(cx.agent.agent_type, testing.AgentType.SUPERVISED)
        self.assertIsNone(cx.agent.baseline)
        self.assertEqual(cx.usage.currency, "EUR")
        self.assertEqual(cx.usage.timezone, "UTC")
        for window in dataclasses.fields(cx.usage):
            if window.name in ("currency", "timezone"):
                continue
            self.assertEqual(
                getattr(cx.usage, window.name), testing.WindowUsage(0, 0, 0, 0), window.name
            )
        self.assertIsNone(cx.risk)
        self.assertIsNone(cx.charge)
        self.assertEqual(cx.now, testing.Timestamp(1_767_225_600, 0))

    def test_gives_a_new_context_each_time(self):
        first = testing.context()
        first.usage.last_day.count = 3
        first.agent.profile.capabilities.append("book-travel")
        first.now.seconds += 1
        second = testing.context()
        self.assertEqual(second.usage.last_day.count, 0)
        self.assertEqual(second.agent.profile.capabilities, [])
        self.assertEqual(second.now, testing.NOW)

    def test_has_the_fields_of_the_generated_records(self):
        # As WIT 0.3.0 has them, in its order.
        self.assertEqual(
            [f.name for f in dataclasses.fields(testing.Context)],
            ["intent", "agent", "usage", "risk", "now", "charge"],
        )
        self.assertEqual(
            [f.name for f in dataclasses.fields(testing.WindowUsage)],
            ["count", "spend", "flagged_count", "flagged_spend"],
        )
        self.assertEqual(
            [f.name for f in dataclasses.fields(testing.Charge)],
            ["amount", "merchant", "at", "series_start", "previous"],
        )
        self.assertEqual([f.name for f in dataclasses.fields(testing.Agent)][-1], "baseline")
        self.assertEqual(
            [f.name for f in dataclasses.fields(testing.Usage)][:2], ["currency", "timezone"]
        )


class PackageTest(unittest.TestCase):
    def test_is_of_the_version_its_manifest_states(self):
        # The version of the contract it targets.
        manifest = Path(__file__).parent.parent / "pyproject.toml"
        versions = re.findall(r'(?m)^version = "(.*)"$', manifest.read_text())
        self.assertEqual(versions, ["0.3.0"])
        self.assertEqual(warrant_sdk.__version__, "0.3.0")

    def test_is_typed(self):
        self.assertTrue((Path(warrant_sdk.__file__).parent / "py.typed").is_file())


class LogTest(unittest.TestCase):
    def test_keeps_lines_outside_a_component(self):
        log.lines.clear()
        log.info("one")
        log.error("two")
        self.assertEqual(log.lines, [("info", "one"), ("error", "two")])
        log.lines.clear()


if __name__ == "__main__":
    unittest.main()
