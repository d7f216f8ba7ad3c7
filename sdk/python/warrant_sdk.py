"""Warrant's SDK for plugins written in Python and built into a component
with componentize-py: strict configuration reading with exact amounts,
decisions, plugin errors, ASCII case folding and logging. Standard library
only. See README.md.

The module imports no generated bindings of its own accord, so that it runs,
and can be unit-tested, with a plain Python: `export_policy` binds it to
them when the plugin is built.
"""

import json
from decimal import Decimal

__all__ = [
    "Decision",
    "PluginError",
    "amount",
    "approve",
    "ascii_lowercase",
    "boolean",
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
            "allow": optional(strings(), []),
        })

    Anything else raises an `invalid-config` `PluginError`: text that is not
    JSON, a value that is not an object, a field given twice, a missing
    field, a field of the wrong type, an unknown field (so that a misspelt
    limit is refused instead of ignored).

    A reader is any function `(value, name) -> result` that raises
    `invalid_config(...)` for a value it refuses; it gets `value` as parsed
    (numbers as `decimal.Decimal`, never a float) and, for a field the
    configuration lacks, a marker that `optional` recognises.
    """
    try:
        value = json.loads(
            text,
            parse_float=Decimal,
            parse_int=Decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=_object_without_duplicates,
        )
    except _DuplicateField as duplicate:
        raise invalid_config(f"field `{_escaped(duplicate.name)}` is given twice") from None
    except (ValueError, RecursionError):
        raise invalid_config("the configuration is not valid JSON") from None
    if not isinstance(value, dict):
        raise invalid_config("the configuration must be a JSON object")
    for name in value:
        if name not in fields:
            raise invalid_config(f"unknown field `{_escaped(name)}`")
    return {name: read(value.get(name, _MISSING), name) for name, read in fields.items()}


def optional(read, default=None):
    """Makes a reader optional: a missing field, or `null`, gives `default`."""

    def read_optional(value, name):
        if value is _MISSING or value is None:
            return default
        return read(value, name)

    return read_optional


def amount(decimals):
    """Reads a non-negative decimal number, such as `"maxAmountEuros": 100.5`,
    as an int of minor units with `decimals` decimals: 10050 for 2.

    The value is read from the number's JSON text, never through a binary
    float, so it stays exact whatever its size, up to 2^64 - 1 minor units
    (the range of an intent's amount); exponents count (`1e2` is 100).
    Digits below the minor unit (`1.001` for 2 decimals) are an error, and
    so is a number written as a string (`"100"`) or a boolean.

    `amount(0)` reads a whole number, e.g. a count, as an int that compares
    directly with the counts of `context.usage`.
    """

    def read_amount(value, name):
        _require(value, name)
        # `bool` is not a Decimal, so `true` is refused here too.
        if not isinstance(value, Decimal):
            raise invalid_config(f"`{name}` must be a number, not `{_shown(value)}`")
        units = _minor_units(value, decimals)
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
    """Reads a list of strings, none of them empty or blank (an empty merchant
    or tag is a mistake, never a value to match)."""

    def read_strings(value, name):
        _require(value, name)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise invalid_config(f"`{name}` must be a list of strings, not `{_shown(value)}`")
        if any(not item.strip() for item in value):
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
            raise _DuplicateField(key)
        result[key] = value
    return result


_NEGATIVE = object()
_TOO_PRECISE = object()
_TOO_LARGE = object()


def _minor_units(value, decimals):
    """The exact value of `value` in minor units, as an int, or why there is
    none. Works on the decimal digits and the exponent, so that neither a
    float nor a huge power (`1e999999999`) is ever computed."""
    sign, digits, exponent = value.as_tuple()
    # Any minus sign, even on zero, as Warrant's other SDKs do.
    if sign:
        return _NEGATIVE
    digits = "".join(map(str, digits)).lstrip("0")
    if not digits:
        return 0
    # The value is `digits` x 10^shift minor units.
    shift = exponent + decimals
    if shift < 0:
        # Digits below the minor unit must all be zeros.
        below = digits[shift:] if -shift < len(digits) else digits
        if below.strip("0"):
            return _TOO_PRECISE
        digits = digits[:shift]
        shift = 0
    # 2^64 - 1 has 20 digits: more is too large without computing it.
    if len(digits) + shift > 20:
        return _TOO_LARGE
    units = int(digits) * 10**shift
    return _TOO_LARGE if units > _U64_MAX else units


def _shown(value):
    """A configuration's value as JSON text, shortened, for a message: the
    author sees what was read, including the quotes of a string."""
    try:
        text = _json_text(value)
    except RecursionError:
        text = "…"
    if len(text) > 60:
        text = text[:59] + "…"
    return _escaped(text)


def _json_text(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(_json_text, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_json_text(k)}: {_json_text(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False)


def _escaped(text):
    # A lone surrogate (`"\ud800"` in JSON) cannot cross into a WIT string.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


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
