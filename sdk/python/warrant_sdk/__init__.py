"""Warrant's SDK for plugins written in Python and built into a component
with componentize-py: strict configuration reading with exact amounts,
decisions and the actions they ask for, plugin errors, ASCII case folding
and logging. Standard library only. See README.md.

The version of the SDK is the version of the WIT contract it targets,
0.3.0 (`wit/0.3.0/warrant.wit`); a plugin built against 0.1.0
(`wit/warrant.wit`) works with it too, without actions.

The module imports no generated bindings of its own accord, so that it runs,
and can be unit-tested, with a plain Python: `export_policy` binds it to
them when the plugin is built.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping, TypeVar, overload

if TYPE_CHECKING:
    from enum import Enum

__version__ = "0.3.0"

__all__ = [
    "ALERT",
    "SUSPEND_AGENT",
    "Decision",
    "Number",
    "PluginError",
    "Reader",
    "amount",
    "approve",
    "ascii_lowercase",
    "boolean",
    "contract",
    "defaulted",
    "deny",
    "enum_name",
    "equals_ignore_ascii_case",
    "export_policy",
    "format_money",
    "integer",
    "invalid_config",
    "log",
    "optional",
    "read_config",
    "review",
    "string",
    "strings",
    "trim",
]

T = TypeVar("T")
D = TypeVar("D")

#: What `read_config` calls for each field: `(value, name) -> result`.
Reader = Callable[[Any, str], T]

# ---------------------------------------------------------------------------
# Errors


class PluginError(Exception):
    """The plugin's own error: the host gets `err(plugin-error)` and fails the
    rule closed, never approving. Raise it from `evaluate`, at any depth."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        #: A stable machine-readable code, e.g. `invalid-config`.
        self.code = code
        #: A message for the person who wrote the configuration.
        self.message = message


def invalid_config(message: str) -> PluginError:
    """A `PluginError` with the code `invalid-config`, to raise."""
    return PluginError("invalid-config", message)


# ---------------------------------------------------------------------------
# Decisions


#: The kind of action that asks the host to suspend the agent.
SUSPEND_AGENT = "suspend-agent"
#: The kind of action that asks the host to record an alert event.
ALERT = "alert"

#: A decision's verdict.
Verdict = Literal["approve", "deny", "review"]


class Decision:
    """A policy plugin's answer; build one with `approve`, `deny` or `review`.

    `verdict` is `"approve"`, `"deny"` or `"review"`; `reason` is the text of
    a deny or review, None for an approval.
    """

    def __init__(self, verdict: Verdict, reason: str | None = None) -> None:
        self.verdict: Verdict = verdict
        self.reason = reason
        self.codes: list[str] = []
        #: `(key, value)` pairs, in order.
        self.annotations: list[tuple[str, str]] = []
        #: `(kind, message)` pairs, in order: what the host is asked to do.
        self.actions: list[tuple[str, str]] = []

    def with_code(self, code: str) -> Decision:
        """Adds a stable machine-readable reason code, e.g. `amount-over-max`,
        and returns the decision."""
        self.codes.append(code)
        return self

    def with_annotation(self, key: str, value: object) -> Decision:
        """Adds a fact for the decision's trace, e.g. `limit` = `100.00 EUR`,
        and returns the decision. `value` is converted with `str`."""
        self.annotations.append((key, str(value)))
        return self

    def with_suspend_agent(self, reason: str) -> Decision:
        """Asks the host to suspend the agent, saying why, and returns the
        decision. The host does so in the transaction that records the
        intent, unless the rule is in monitor mode or the evaluation is a
        dry run."""
        return self.with_action(SUSPEND_AGENT, reason)

    def with_alert(self, message: str) -> Decision:
        """Asks the host to record an alert event for the agent, and returns
        the decision."""
        return self.with_action(ALERT, message)

    def with_action(self, kind: str, message: str) -> Decision:
        """Asks the host for an action of any kind, and returns the decision;
        the host ignores (and traces) kinds it does not know.

        Raises `RuntimeError` in a plugin built against WIT 0.1.0, whose
        decisions carry no actions: an action is never dropped silently."""
        if _bound.contract == "0.1.0":
            raise RuntimeError(_NO_ACTIONS.format(kind=kind))
        self.actions.append((kind, message))
        return self

    def has_action(self, kind: str) -> bool:
        """Whether the decision asks for an action of `kind`."""
        return any(name == kind for name, _ in self.actions)

    def annotation(self, key: str) -> str | None:
        """The value of the first annotation named `key`, or None."""
        return next((value for name, value in self.annotations if name == key), None)

    def __repr__(self) -> str:
        return (
            f"Decision({self.verdict!r}, {self.reason!r}, "
            f"codes={self.codes!r}, annotations={self.annotations!r}, "
            f"actions={self.actions!r})"
        )


def approve() -> Decision:
    """The rule has no objection."""
    return Decision("approve")


def deny(reason: str) -> Decision:
    """The rule forbids the intent, for `reason`."""
    return Decision("deny", reason)


def review(reason: str) -> Decision:
    """A human must look at the intent, for `reason`."""
    return Decision("review", reason)


_NO_ACTIONS = (
    "the decision asks for an action (`{kind}`), which WIT 0.1.0 cannot carry: "
    "build the plugin against WIT 0.3.0"
)


# ---------------------------------------------------------------------------
# Configuration

# What a reader gets for a field the configuration does not have.
_MISSING = object()

# An intent's amount is a u64 of minor units.
_U64_MAX = 2**64 - 1


def read_config(text: str, fields: Mapping[str, Reader[Any]]) -> dict[str, Any]:
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


@overload
def optional(read: Reader[T]) -> Reader[T | None]: ...
@overload
def optional(read: Reader[T], default: D) -> Reader[T | D]: ...
def optional(read: Reader[Any], default: Any = None) -> Reader[Any]:
    """Makes a reader optional: a missing field, or `null`, gives `default`
    (None unless given). For a value that may be absent, like Rust's
    `Option`; for a field with a default value, such as a list that is
    empty unless given, use `defaulted`."""

    def read_optional(value: Any, name: str) -> Any:
        if value is _MISSING or value is None:
            return default
        return read(value, name)

    return read_optional


def defaulted(read: Reader[T], default: D) -> Reader[T | D]:
    """Gives a field a default value: a missing field gives `default`, and
    anything written, `null` included, goes to `read`, which refuses what
    it does not accept (every reader of this module refuses `null`). Like
    Rust's `#[serde(default)]`: `"allow": null` is a mistake, not an empty
    list. `default` itself is returned, not a copy."""

    def read_defaulted(value: Any, name: str) -> T | D:
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

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Number) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"Number({self.text!r})"

    def __str__(self) -> str:
        return self.text


def amount(decimals: int) -> Reader[int]:
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

    def read_amount(value: Any, name: str) -> int:
        _require(value, name)
        if not isinstance(value, Number):
            raise invalid_config(f"`{name}` must be a number, not `{_shown(value)}`")
        units = _minor_units(value.text, decimals)
        if isinstance(units, int):
            return units
        if units is _NEGATIVE:
            raise invalid_config(f"`{name}` must not be negative, not `{_shown(value)}`")
        if units is _TOO_PRECISE:
            raise invalid_config(
                f"`{name}` must have at most {decimals} decimals, not `{_shown(value)}`"
            )
        limit = _decimal_text(_U64_MAX, decimals)
        raise invalid_config(f"`{name}` must be at most {limit}, not `{_shown(value)}`")

    return read_amount


def integer(maximum: int = _U64_MAX) -> Reader[int]:
    """Reads a whole number from 0 to `maximum` (2^64 - 1 unless given)
    written as one, as Rust's integer types read JSON: `30`, not `30.0`,
    `3e1`, `-1`, `-0` or `"30"`. For counts, scores and limits that are no
    amounts; `amount(0)` also takes `3e1` and `30.0`."""

    def read_integer(value: Any, name: str) -> int:
        _require(value, name)
        if not isinstance(value, Number):
            raise invalid_config(f"`{name}` must be a number, not `{_shown(value)}`")
        if value.text.startswith("-"):
            raise invalid_config(f"`{name}` must not be negative, not `{_shown(value)}`")
        if not value.text.isdigit():
            raise invalid_config(
                f"`{name}` must be a whole number, without a fraction or exponent, "
                f"not `{_shown(value)}`"
            )
        # Compared as text first: `int` refuses more than 4300 digits.
        limit = str(maximum)
        if len(value.text.lstrip("0")) > len(limit) or int(value.text) > maximum:
            raise invalid_config(f"`{name}` must be at most {limit}, not `{_shown(value)}`")
        return int(value.text)

    return read_integer


def string() -> Reader[str]:
    """Reads a string."""

    def read_string(value: Any, name: str) -> str:
        _require(value, name)
        if not isinstance(value, str):
            raise invalid_config(f"`{name}` must be a string, not `{_shown(value)}`")
        return value

    return read_string


def strings() -> Reader[list[str]]:
    """Reads a list of strings, none of them blank, that is empty once
    `trim`med (an empty merchant or tag is a mistake, never a value to
    match)."""

    def read_strings(value: Any, name: str) -> list[str]:
        _require(value, name)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise invalid_config(f"`{name}` must be a list of strings, not `{_shown(value)}`")
        # Blank: empty once `trim`med. `str.isspace` is quick to rule out
        # most strings; it also counts U+001C to U+001F, which `trim` keeps.
        if any(not item or (item.isspace() and not trim(item)) for item in value):
            raise invalid_config(f"`{name}` must not contain empty strings")
        return value

    return read_strings


def boolean() -> Reader[bool]:
    """Reads `true` or `false`."""

    def read_boolean(value: Any, name: str) -> bool:
        _require(value, name)
        if not isinstance(value, bool):
            raise invalid_config(f"`{name}` must be true or false, not `{_shown(value)}`")
        return value

    return read_boolean


def _require(value: Any, name: str) -> None:
    if value is _MISSING:
        raise invalid_config(f"missing field `{name}`")


def _refuse_constant(name: str) -> Any:
    # `NaN`, `Infinity` and `-Infinity` are not JSON, though Python reads them.
    raise ValueError(f"{name} is not JSON")


def _number(text: str) -> Number:
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


def _has_lone_surrogate(text: str, value: Any) -> bool:
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
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
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


def _minor_units(text: str, decimals: int) -> int | object:
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


def _clamped_exponent(text: str) -> int:
    """The exponent of a JSON number (`""`, `"2"`, `"+2"`, `"-02"`), clamped
    to +-10^18. `int` would refuse more than 4300 digits."""
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > 18:
        return sign * _EXPONENT_LIMIT
    return sign * int(digits or "0")


def _shown(value: Any) -> str:
    """A configuration's value as JSON text, shortened, for a message: the
    author sees what was read, including the quotes of a string."""
    try:
        text = _json_text(value)
    except RecursionError:
        text = "…"
    if len(text) > 60:
        text = text[:59] + "…"
    return text


def _json_text(value: Any) -> str:
    if isinstance(value, Number):
        return value.text
    if isinstance(value, list):
        return "[" + ", ".join(map(_json_text, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_json_text(k)}: {_json_text(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------------------
# Text


def format_money(minor_units: int, currency: str = "EUR", decimals: int = 2) -> str:
    """Formats minor units as money: `format_money(10050)` is `100.50 EUR`,
    `format_money(5000, "JPY", 0)` is `5000 JPY`."""
    return f"{_decimal_text(minor_units, decimals)} {currency}"


def _decimal_text(minor_units: int, decimals: int) -> str:
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


def trim(text: str) -> str:
    """`text` without leading and trailing white space, as Rust's `str::trim`
    removes it: the Unicode White_Space characters (tab to carriage return,
    space, U+0085, U+00A0, U+1680, U+2000 to U+200A, U+2028, U+2029,
    U+202F, U+205F, U+3000), not U+001C to U+001F, which `str.strip()` also
    removes, nor U+FEFF."""
    return text.strip(_WHITE_SPACE)


_ASCII_LOWERCASE = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lowercase(text: str) -> str:
    """Lowercases the ASCII letters A-Z only. `str.lower` and `str.casefold`
    also fold other scripts (`Ü` to `ü`, `K` the Kelvin sign to `k`)
    according to Unicode, which is not how merchants or domain names are
    compared."""
    return text.translate(_ASCII_LOWERCASE)


def equals_ignore_ascii_case(a: str, b: str) -> bool:
    """Whether two strings are equal when ASCII letters A-Z are lowercased."""
    return len(a) == len(b) and ascii_lowercase(a) == ascii_lowercase(b)


def enum_name(value: Enum) -> str:
    """The WIT name of a case of one of the contract's enums, as the host
    and the trace write it: `mcp-server` for `AgentType.MCP_SERVER`,
    `monthly` for `Cadence.MONTHLY`. Works with the generated bindings and
    with `warrant_sdk.testing` alike, which compare unequal to each other:
    compare names, not cases, in code that runs under both."""
    return value.name.lower().replace("_", "-")


# ---------------------------------------------------------------------------
# Logging


class _Log:
    """Writes to the host's log and the decision's trace: `log.info("…")`.
    Lines are capped in number and length, and never change the decision.

    Outside a component (in unit tests) the lines are kept in `log.lines`
    as `(level, message)` pairs instead.
    """

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        # The host's `log` function, once `export_policy` has bound it.
        self._host: Callable[[str, str], None] | None = None

    def debug(self, message: str) -> None:
        self._write("debug", message)

    def info(self, message: str) -> None:
        self._write("info", message)

    def warn(self, message: str) -> None:
        self._write("warn", message)

    def error(self, message: str) -> None:
        self._write("error", message)

    def _write(self, level: str, message: str) -> None:
        if self._host is None:
            self.lines.append((level, message))
        else:
            self._host(level, message)


log = _Log()


# ---------------------------------------------------------------------------
# The component's export


class _Bound:
    """What `export_policy` found in the generated bindings."""

    def __init__(self) -> None:
        # The version of the contract they were generated from, once bound.
        self.contract: str | None = None


_bound = _Bound()


def contract() -> str | None:
    """The version of the WIT contract the plugin is built against, `0.1.0`,
    `0.2.0` or `0.3.0`, once `export_policy` has bound the SDK to the
    generated bindings; None before, and in unit tests. A context of an
    older contract lacks the newer fields: `usage.timezone`, `charge` and
    `agent.baseline` came with 0.2.0, the flagged counts of
    `window-usage` with 0.3.0."""
    return _bound.contract


def _contract_of(types: Any) -> str:
    """The contract that generated bindings come from, told by what they
    have: actions came with 0.2.0, flagged counts with 0.3.0."""
    if not hasattr(types, "Action"):
        return "0.1.0"
    fields = getattr(types.WindowUsage, "__dataclass_fields__", {})
    return "0.3.0" if "flagged_count" in fields else "0.2.0"


def export_policy(evaluate: Callable[[Any, str], Decision]) -> type | None:
    """The class componentize-py exports for the `policy` world, around
    `evaluate(context, config_text) -> Decision`. Assign it, at the top level
    of the plugin's module, to the name componentize-py looks for::

        WitWorld = export_policy(evaluate)

    `context` is the generated `wit_world.imports.types.Context` (snake_case
    fields, u64s as ints, absent options None); a returned `Decision` is
    `ok`, a raised `PluginError` is `err`. Any other exception traps, which
    the host also counts as a failed rule, never an approval.

    It works with bindings generated from WIT 0.3.0 (or 0.2.0), and from
    0.1.0, whose decisions carry no actions: there, asking for an action
    raises `RuntimeError`, and so does returning a decision that has one,
    so the call traps instead of dropping the action.

    It imports the generated bindings, so call it when the module is loaded:
    componentize-py resolves imports while it builds the component, and a
    module first imported during a call is not there. Outside a component,
    where there are no bindings (a plain Python running unit tests), it
    binds nothing and returns None, so that the plugin's module imports
    there too.
    """
    try:
        import wit_world
    except ModuleNotFoundError as missing:
        if missing.name != "wit_world":
            raise
        return None
    from componentize_py_types import Err
    from wit_world.imports import host, types

    version = _contract_of(types)
    carries_actions = version != "0.1.0"

    def to_wit(decision: Decision) -> Any:
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
        if not carries_actions:
            if decision.actions:
                raise RuntimeError(_NO_ACTIONS.format(kind=decision.actions[0][0]))
            return types.Decision(verdict, list(decision.codes), annotations)
        actions = [types.Action(kind, message) for kind, message in decision.actions]
        return types.Decision(verdict, list(decision.codes), annotations, actions)

    class Policy(wit_world.WitWorld):  # type: ignore[misc]
        def evaluate(self, context: Any, config: str) -> Any:
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
    _bound.contract = version
    return Policy


def _describe_exception(error: BaseException) -> str:
    """`ValueError: boom (policy.py, line 12)`: the exception and where it was
    raised, or, when the SDK raised it (an action asked for under WIT
    0.1.0), the line of the plugin that called the SDK. Walks the traceback
    itself: the `traceback` module would add most of a megabyte of modules
    to the component."""
    frames = []
    frame = error.__traceback__
    while frame is not None:
        frames.append(frame)
        frame = frame.tb_next
    if not frames:
        return f"{type(error).__name__}: {error}"
    outside = [frame for frame in frames if frame.tb_frame.f_code.co_filename != __file__]
    where = (outside or frames)[-1]
    file = where.tb_frame.f_code.co_filename.rsplit("/", 1)[-1]
    return f"{type(error).__name__}: {error} ({file}, line {where.tb_lineno})"
