"""Warrant's SDK for plugins written in Python and built into a component
with componentize-py: strict configuration reading with exact amounts,
decisions, plugin errors, ASCII case folding and logging. Standard library
only. See README.md.

The module imports no generated bindings of its own accord, so that it runs,
and can be unit-tested, with a plain Python: `export_policy` binds it to
them when the plugin is built.
"""

import json
import re

__all__ = [
    "Decision",
    "Number",
    "PluginError",
    "amount",
    "approve",
    "ascii_lowercase",
    "boolean",
    "defaulted",
    "deny",
    "equals_ignore_ascii_case",
    "export_policy",
    "format_money",
    "invalid_config",
    "log",
    "optional",
    "read_config",
    "review",
    "string",
    "strings",
    "trim",
]

# ---------------------------------------------------------------------------
# Errors


class PluginError(Exception):
    """The plugin's own error: the host gets `err(plugin-error)` and fails the
    rule closed, never approving. Raise it from `evaluate`, at any depth."""

    def __init__(self, code, message):
        super().__init__(message)
        #: A stable machine-readable code, e.g. `invalid-config`.
        self.code = code
        #: A message for the person who wrote the configuration.
        self.message = message


def invalid_config(message):
    """A `PluginError` with the code `invalid-config`, to raise."""
    return PluginError("invalid-config", message)


# ---------------------------------------------------------------------------
# Decisions


class Decision:
    """A policy plugin's answer; build one with `approve`, `deny` or `review`.

    `verdict` is `"approve"`, `"deny"` or `"review"`; `reason` is the text of
    a deny or review, None for an approval.
    """

    def __init__(self, verdict, reason=None):
        self.verdict = verdict
        self.reason = reason
        self.codes = []
        #: `(key, value)` pairs, in order.
        self.annotations = []

    def with_code(self, code):
        """Adds a stable machine-readable reason code, e.g. `amount-over-max`,
        and returns the decision."""
        self.codes.append(code)
        return self

    def with_annotation(self, key, value):
        """Adds a fact for the decision's trace, e.g. `limit` = `100.00 EUR`,
        and returns the decision. `value` is converted with `str`."""
        self.annotations.append((key, str(value)))
        return self

    def annotation(self, key):
        """The value of the first annotation named `key`, or None."""
        return next((value for name, value in self.annotations if name == key), None)

    def __repr__(self):
        return (
            f"Decision({self.verdict!r}, {self.reason!r}, "
            f"codes={self.codes!r}, annotations={self.annotations!r})"
        )


def approve():
    """The rule has no objection."""
    return Decision("approve")


def deny(reason):
    """The rule forbids the intent, for `reason`."""
    return Decision("deny", reason)


def review(reason):
    """A human must look at the intent, for `reason`."""
    return Decision("review", reason)


# ---------------------------------------------------------------------------
# Configuration

# What a reader gets for a field the configuration does not have.
_MISSING = object()

# An intent's amount is a u64 of minor units.
_U64_MAX = 2**64 - 1


def read_config(text, fields):
    """Reads a rule's configuration, the JSON text `evaluate` receives, into a
    dict with exactly the declared fields, each converted by its reader::

        config = read_config(text, {
            "maxAmountEuros": amount(2),
            "reviewAboveEuros": optional(amount(2)),
            "allow": defaulted(strings(), []),
        })

    Anything else raises an `invalid-config` `PluginError`: text that is not
    JSON (a lone surrogate escape such as `"\\ud800"` included, as in
    Rust's parser), a value that is not an object, a field given twice, a
    missing field, a field of the wrong type, an unknown field (so that a
    misspelt limit is refused instead of ignored).

    A reader is any function `(value, name) -> result` that raises
    `invalid_config(...)` for a value it refuses; it gets `value` as parsed
    (numbers as `Number`, their JSON text, never a float) and, for a field
    the configuration lacks, a marker that `optional` and `defaulted`
    recognise.
    """
    try:
        value = json.loads(
            text,
            parse_float=_number,
            parse_int=_number,
            parse_constant=_refuse_constant,
            object_pairs_hook=_object_without_duplicates,
        )
    except _DuplicateField as duplicate:
        raise invalid_config(f"field `{duplicate.name}` is given twice") from None
    except (ValueError, RecursionError):
        raise invalid_config("the configuration is not valid JSON") from None
    if _has_lone_surrogate(text, value):
        raise invalid_config("the configuration is not valid JSON")
    if not isinstance(value, dict):
        raise invalid_config("the configuration must be a JSON object")
    for name in value:
        if name not in fields:
            raise invalid_config(f"unknown field `{name}`")
    return {name: read(value.get(name, _MISSING), name) for name, read in fields.items()}


def optional(read, default=None):
    """Makes a reader optional: a missing field, or `null`, gives `default`
    (None unless given). For a value that may be absent, like Rust's
    `Option`; for a field with a default value, such as a list that is
    empty unless given, use `defaulted`."""

    def read_optional(value, name):
        if value is _MISSING or value is None:
            return default
        return read(value, name)

    return read_optional


def defaulted(read, default):
    """Gives a field a default value: a missing field gives `default`, and
    anything written, `null` included, goes to `read`, which refuses what
    it does not accept (every reader of this module refuses `null`). Like
    Rust's `#[serde(default)]`: `"allow": null` is a mistake, not an empty
    list. `default` itself is returned, not a copy."""

    def read_defaulted(value, name):
        if value is _MISSING:
            return default
        return read(value, name)

    return read_defaulted


class Number:
    """A JSON number as `read_config` gives it to readers: its `text`
    exactly as written (`100.5`, `1e2`), never converted to a float or
    computed, so that a reader decides how to read it. `amount` turns it
    into minor units."""

    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text

    def __eq__(self, other):
        return isinstance(other, Number) and other.text == self.text

    def __hash__(self):
        return hash(self.text)

    def __repr__(self):
        return f"Number({self.text!r})"

    def __str__(self):
        return self.text


def amount(decimals):
    """Reads a non-negative decimal number, such as `"maxAmountEuros": 100.5`,
    as an int of minor units with `decimals` decimals: 10050 for 2.

    The value is read from the number's JSON text, never through a binary
    float, so it stays exact whatever its size, up to 2^64 - 1 minor units
    (the range of an intent's amount); exponents count (`1e2` is 100, and
    trailing zeros cancel against a negative exponent: `1000e-3` is 1).
    Digits below the minor unit (`1.001` for 2 decimals) are an error, and
    so is a number written as a string (`"100"`) or a boolean. No exponent
    is too large to read: `1e500000000` is refused as too large,
    `0e500000000` is zero.

    `amount(0)` reads a whole number, e.g. a count, as an int that compares
    directly with the counts of `context.usage`.
    """

    def read_amount(value, name):
        _require(value, name)
        if not isinstance(value, Number):
            raise invalid_config(f"`{name}` must be a number, not `{_shown(value)}`")
        units = _minor_units(value.text, decimals)
        if units is _NEGATIVE:
            raise invalid_config(f"`{name}` must not be negative, not `{_shown(value)}`")
        if units is _TOO_PRECISE:
            raise invalid_config(
                f"`{name}` must have at most {decimals} decimals, not `{_shown(value)}`"
            )
        if units is _TOO_LARGE:
            limit = _decimal_text(_U64_MAX, decimals)
            raise invalid_config(f"`{name}` must be at most {limit}, not `{_shown(value)}`")
        return units

    return read_amount


def string():
    """Reads a string."""

    def read_string(value, name):
        _require(value, name)
        if not isinstance(value, str):
            raise invalid_config(f"`{name}` must be a string, not `{_shown(value)}`")
        return value

    return read_string


def strings():
    """Reads a list of strings, none of them blank, that is empty once
    `trim`med (an empty merchant or tag is a mistake, never a value to
    match)."""

    def read_strings(value, name):
        _require(value, name)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise invalid_config(f"`{name}` must be a list of strings, not `{_shown(value)}`")
        # Blank: empty once `trim`med. `str.isspace` is quick to rule out
        # most strings; it also counts U+001C to U+001F, which `trim` keeps.
        if any(not item or (item.isspace() and not trim(item)) for item in value):
            raise invalid_config(f"`{name}` must not contain empty strings")
        return value

    return read_strings


def boolean():
    """Reads `true` or `false`."""

    def read_boolean(value, name):
        _require(value, name)
        if not isinstance(value, bool):
            raise invalid_config(f"`{name}` must be true or false, not `{_shown(value)}`")
        return value

    return read_boolean


def _require(value, name):
    if value is _MISSING:
        raise invalid_config(f"missing field `{name}`")


def _refuse_constant(name):
    # `NaN`, `Infinity` and `-Infinity` are not JSON, though Python reads them.
    raise ValueError(f"{name} is not JSON")


def _number(text):
    # json's pure-Python scanner matches digits with `\d`, which takes any
    # script's digits (`١`); JSON's are 0-9 only. The scanner has checked
    # the rest of the number's grammar.
    if not text.isascii():
        raise ValueError(f"{text} is not a JSON number")
    return Number(text)


# UTF-16 surrogates: `json.loads` decodes a pair of `\u` escapes into one
# character, but keeps a lone one, which is no Unicode text (Rust's parser
# refuses it, and it cannot cross into a WIT string).
_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(text, value):
    """Whether any string of `value`, parsed from `text`, object keys
    included, holds a lone surrogate. One comes from a `\\u` escape, or is
    in `text` itself (a Python str can hold one, a WIT string cannot): the
    usual configuration, ASCII without escapes, needs no walk. The walk
    uses a list rather than recursion, so that nesting as deep as
    `json.loads` reads is no problem."""
    if "\\u" not in text and text.isascii():
        return False
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
    return False


class _DuplicateField(ValueError):
    def __init__(self, name):
        super().__init__(name)
        self.name = name


def _object_without_duplicates(pairs):
    # Python keeps the last of two equal keys; which of two limits the author
    # meant cannot be known, so neither is taken.
    result = {}
    for key, value in pairs:
        if key in result:
            # A key with a lone surrogate is not JSON text, and cannot be
            # named in a message.
            if _SURROGATE.search(key):
                raise ValueError("a lone surrogate is not JSON text")
            raise _DuplicateField(key)
        result[key] = value
    return result


_NEGATIVE = object()
_TOO_PRECISE = object()
_TOO_LARGE = object()


# Exponents are clamped to +-10^18. No JSON text has anywhere near that
# many digits to offset it, so a clamped exponent gives the answer the
# written one would (too large, too precise, or zero), and the arithmetic
# stays on small ints.
_EXPONENT_LIMIT = 10**18


def _minor_units(text, decimals):
    """The exact value of a JSON number's `text` in minor units, as an int,
    or why there is none. Works on the decimal digits and the exponent, so
    that neither a float nor a huge power (`1e999999999`) is ever
    computed."""
    # Any minus sign, even on zero, as Warrant's other SDKs do.
    if text.startswith("-"):
        return _NEGATIVE
    mantissa, _, exponent = text.lower().partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    # The value is `digits` x 10^power minor units.
    power = _clamped_exponent(exponent) - len(fraction) + decimals
    if power < 0:
        # Trailing zeros cancel against a negative power: `1000e-3` is 1.
        zeros = len(digits) - len(digits.rstrip("0"))
        cancelled = min(zeros, -power)
        digits = digits[: len(digits) - cancelled]
        power += cancelled
    digits = digits.lstrip("0")
    if not digits:
        return 0
    # Digits below the minor unit that are not zeros.
    if power < 0:
        return _TOO_PRECISE
    # 2^64 - 1 has 20 digits: more is too large without computing it.
    if len(digits) + power > 20:
        return _TOO_LARGE
    units = int(digits) * 10**power
    return _TOO_LARGE if units > _U64_MAX else units


def _clamped_exponent(text):
    """The exponent of a JSON number (`""`, `"2"`, `"+2"`, `"-02"`), clamped
    to +-10^18. `int` would refuse more than 4300 digits."""
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > 18:
        return sign * _EXPONENT_LIMIT
    return sign * int(digits or "0")


def _shown(value):
    """A configuration's value as JSON text, shortened, for a message: the
    author sees what was read, including the quotes of a string."""
    try:
        text = _json_text(value)
    except RecursionError:
        text = "…"
    if len(text) > 60:
        text = text[:59] + "…"
    return text


def _json_text(value):
    if isinstance(value, Number):
        return value.text
    if isinstance(value, list):
        return "[" + ", ".join(map(_json_text, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_json_text(k)}: {_json_text(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------------------
# Text


def format_money(minor_units, currency="EUR", decimals=2):
    """Formats minor units as money: `format_money(10050)` is `100.50 EUR`,
    `format_money(5000, "JPY", 0)` is `5000 JPY`."""
    return f"{_decimal_text(minor_units, decimals)} {currency}"


def _decimal_text(minor_units, decimals):
    if decimals == 0:
        return str(minor_units)
    digits = str(minor_units).rjust(decimals + 1, "0")
    return f"{digits[:-decimals]}.{digits[-decimals:]}"


# The characters Rust's `str::trim` removes, Unicode's White_Space property.
# `str.strip()` also removes U+001C to U+001F, which are not; neither removes
# U+FEFF, the zero-width no-break space.
_WHITE_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def trim(text):
    """`text` without leading and trailing white space, as Rust's `str::trim`
    removes it: the Unicode White_Space characters (tab to carriage return,
    space, U+0085, U+00A0, U+1680, U+2000 to U+200A, U+2028, U+2029,
    U+202F, U+205F, U+3000), not U+001C to U+001F, which `str.strip()` also
    removes, nor U+FEFF."""
    return text.strip(_WHITE_SPACE)


_ASCII_LOWERCASE = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lowercase(text):
    """Lowercases the ASCII letters A-Z only. `str.lower` and `str.casefold`
    also fold other scripts (`Ü` to `ü`, `K` the Kelvin sign to `k`)
    according to Unicode, which is not how merchants or domain names are
    compared."""
    return text.translate(_ASCII_LOWERCASE)


def equals_ignore_ascii_case(a, b):
    """Whether two strings are equal when ASCII letters A-Z are lowercased."""
    return len(a) == len(b) and ascii_lowercase(a) == ascii_lowercase(b)


# ---------------------------------------------------------------------------
# Logging


class _Log:
    """Writes to the host's log and the decision's trace: `log.info("…")`.
    Lines are capped in number and length, and never change the decision.

    Outside a component (in unit tests) the lines are kept in `log.lines`
    as `(level, message)` pairs instead.
    """

    def __init__(self):
        self.lines = []
        # The host's `log` function, once `export_policy` has bound it.
        self._host = None

    def debug(self, message):
        self._write("debug", message)

    def info(self, message):
        self._write("info", message)

    def warn(self, message):
        self._write("warn", message)

    def error(self, message):
        self._write("error", message)

    def _write(self, level, message):
        if self._host is None:
            self.lines.append((level, message))
        else:
            self._host(level, message)


log = _Log()


# ---------------------------------------------------------------------------
# The component's export


def export_policy(evaluate):
    """The class componentize-py exports for the `policy` world, around
    `evaluate(context, config_text) -> Decision`. Assign it, at the top level
    of the plugin's module, to the name componentize-py looks for::

        WitWorld = export_policy(evaluate)

    `context` is the generated `wit_world.imports.types.Context` (snake_case
    fields, u64s as ints, absent options None); a returned `Decision` is
    `ok`, a raised `PluginError` is `err`. Any other exception traps, which
    the host also counts as a failed rule, never an approval.

    It imports the generated bindings, so call it when the module is loaded:
    componentize-py resolves imports while it builds the component, and a
    module first imported during a call is not there.
    """
    import wit_world
    from componentize_py_types import Err
    from wit_world.imports import host, types

    def to_wit(decision):
        if not isinstance(decision, Decision):
            raise TypeError(f"evaluate must return a Decision, not {type(decision).__name__}")
        if decision.verdict == "approve":
            verdict = types.Verdict_Approve()
        elif decision.verdict == "deny":
            verdict = types.Verdict_Deny(decision.reason)
        elif decision.verdict == "review":
            verdict = types.Verdict_Review(decision.reason)
        else:
            raise ValueError(f"unknown verdict `{decision.verdict}`")
        annotations = [types.Annotation(key, value) for key, value in decision.annotations]
        return types.Decision(verdict, list(decision.codes), annotations)

    class Policy(wit_world.WitWorld):
        def evaluate(self, context, config):
            try:
                return to_wit(evaluate(context, config))
            except PluginError as error:
                raise Err(types.PluginError(error.code, error.message)) from None
            except Exception as error:
                # Python prints the traceback to stderr, which the host does
                # not keep: the trace gets where it happened, then it traps.
                log.error(_describe_exception(error))
                raise

    levels = {level.name.lower(): level for level in host.LogLevel}
    log._host = lambda level, message: host.log(levels[level], message)
    return Policy


def _describe_exception(error):
    """`ValueError: boom (policy.py, line 12)`: the exception and where it was
    raised. Walks the traceback itself: the `traceback` module would add
    most of a megabyte of modules to the component."""
    innermost = error.__traceback__
    while innermost.tb_next is not None:
        innermost = innermost.tb_next
    file = innermost.tb_frame.f_code.co_filename.rsplit("/", 1)[-1]
    return f"{type(error).__name__}: {error} ({file}, line {innermost.tb_lineno})"
