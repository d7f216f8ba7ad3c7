"""Unit tests of warrant_sdk, with a plain Python: `python3 -m unittest`."""

import enum
import json
import sys
import types
import unittest
from dataclasses import dataclass

import warrant_sdk
from warrant_sdk import (
    Number,
    PluginError,
    amount,
    approve,
    ascii_lowercase,
    boolean,
    defaulted,
    deny,
    equals_ignore_ascii_case,
    export_policy,
    format_money,
    invalid_config,
    log,
    optional,
    read_config,
    review,
    string,
    strings,
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

    def test_trims_unicode_white_space_as_rust_does(self):
        self.assertEqual(trim(" \t\n\v\f\r a b \x85\xa0\u1680"), "a b")
        self.assertEqual(trim("\u2000\u200a\u2028\u2029\u202f\u205f\u3000a"), "a")
        for kept in ["\ufeff", "\x1c", "\x1d", "\x1e", "\x1f", "\u200b", "\u180e"]:
            self.assertEqual(trim(kept), kept)


# Stand-ins for the modules componentize-py generates for the `policy` world,
# with the shapes of its bindings.
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
class Decision:
    verdict: object
    codes: list
    annotations: list


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


class ExportPolicyTest(unittest.TestCase):
    def setUp(self):
        self.logged = []
        wit_types = types.SimpleNamespace(
            Verdict_Approve=Verdict_Approve,
            Verdict_Deny=Verdict_Deny,
            Verdict_Review=Verdict_Review,
            Annotation=Annotation,
            Decision=Decision,
            PluginError=WitPluginError,
        )
        host = types.SimpleNamespace(
            LogLevel=LogLevel, log=lambda level, message: self.logged.append((level, message))
        )
        imports = types.ModuleType("wit_world.imports")
        imports.types, imports.host = wit_types, host
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

    def test_converts_decisions(self):
        def evaluate(context, config_text):
            log.warn(f"config {config_text}")
            return review("look").with_code("a").with_annotation("k", "v")

        answer = export_policy(evaluate)().evaluate(None, "{}")
        self.assertEqual(answer, Decision(Verdict_Review("look"), ["a"], [Annotation("k", "v")]))
        self.assertEqual(self.logged, [(LogLevel.WARN, "config {}")])

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


class LogTest(unittest.TestCase):
    def test_keeps_lines_outside_a_component(self):
        log.lines.clear()
        log.info("one")
        log.error("two")
        self.assertEqual(log.lines, [("info", "one"), ("error", "two")])
        log.lines.clear()


if __name__ == "__main__":
    unittest.main()
