"""Arithmetic for the model, parsed safely: Python's own parser builds the tree, and a walker that
knows only numbers, operators and a few math functions evaluates it. Nothing is ever `eval`ed, and
sizes are checked before they are computed, so `9**9**9` is refused at once instead of hanging."""

from __future__ import annotations

import ast
import math
import operator

from ragchat.domain import ToolContext, ToolOutput
from ragchat.tools.registry import ToolFailed

MAX_CHARS = 200
MAX_NODES = 100  # every node of the parsed tree counts, operators included
MAX_DIGITS = 1000  # an integer result longer than this is refused
MAX_EXPONENT = 10_000
_INT_LIMIT = 10**MAX_DIGITS  # the smallest integer with more than MAX_DIGITS digits

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_REFUSED_OPERATORS = {ast.BitXor: "^", ast.BitAnd: "&", ast.BitOr: "|", ast.LShift: "<<", ast.RShift: ">>",
                      ast.MatMult: "@", ast.Invert: "~", ast.Not: "not"}
_FUNCTIONS = {"sqrt": (math.sqrt, 1, 1), "log": (math.log, 1, 2), "log10": (math.log10, 1, 1),
              "exp": (math.exp, 1, 1), "sin": (math.sin, 1, 1), "cos": (math.cos, 1, 1), "tan": (math.tan, 1, 1),
              "abs": (abs, 1, 1), "round": (round, 1, 2), "min": (min, 1, 20), "max": (max, 1, 20),
              "floor": (math.floor, 1, 1), "ceil": (math.ceil, 1, 1)}
_CONSTANTS = {"pi": math.pi, "e": math.e}
_ALLOWED = (f"only numbers, + - * / // % **, parentheses, the constants pi and e, "
            f"and the functions {', '.join(_FUNCTIONS)} are allowed")
_KINDS = {  # what the refusal calls a construct, by node type
    ast.Attribute: "attribute access (a.b)", ast.Subscript: "indexing (a[b])", ast.List: "lists",
    ast.Tuple: "tuples and comma-separated values (write 1000, not 1,000)", ast.Set: "sets", ast.Dict: "dicts",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions", ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions", ast.Lambda: "lambdas", ast.IfExp: "conditional expressions (a if b else c)",
    ast.Compare: "comparisons", ast.BoolOp: "boolean operators (and, or)", ast.NamedExpr: "assignments (:=)",
    ast.Starred: "starred arguments", ast.JoinedStr: "f-strings", ast.FormattedValue: "f-strings",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield", ast.Slice: "slices"}


def _digits(value: int | float) -> float:
    """log10 of the magnitude: about how many digits the integer part has."""
    return math.log10(abs(value)) if value else 0.0


def _check_size(value):
    if isinstance(value, int) and abs(value) >= _INT_LIMIT:
        raise ToolFailed(f"the result is too large (over {MAX_DIGITS} digits)")
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolFailed("the result is too large for a floating-point number")
    return value


def _power(base, exponent):
    if isinstance(exponent, float) and base < 0 and not exponent.is_integer():
        raise ToolFailed("a negative number to a fractional power is not a real number")
    if abs(exponent) > MAX_EXPONENT or (abs(base) > 1 and exponent > 0 and exponent * _digits(base) >= MAX_DIGITS):
        raise ToolFailed(f"the power is too large (results are limited to {MAX_DIGITS} digits)")
    return base**exponent


def _binary(node: ast.BinOp):
    kind = type(node.op)
    if kind not in _BINARY:
        raise ToolFailed(f"the operator {_REFUSED_OPERATORS.get(kind, kind.__name__)} is not allowed; {_ALLOWED}")
    left, right = _evaluate(node.left), _evaluate(node.right)
    if kind is ast.Mult and _digits(left) + _digits(right) >= MAX_DIGITS:
        raise ToolFailed(f"the result is too large (over {MAX_DIGITS} digits)")
    try:
        return _check_size(_power(left, right) if kind is ast.Pow else _BINARY[kind](left, right))
    except ZeroDivisionError:
        raise ToolFailed("division by zero") from None
    except OverflowError:
        raise ToolFailed("the result is too large for a floating-point number") from None


def _call(node: ast.Call):
    if not isinstance(node.func, ast.Name):
        callee = _KINDS.get(type(node.func), type(node.func).__name__)
        raise ToolFailed(f"only the listed functions can be called, by bare name (not {callee}); {_ALLOWED}")
    name = node.func.id
    if name not in _FUNCTIONS:
        raise ToolFailed(f"unknown function {name!r}; {_ALLOWED}")
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise ToolFailed(f"{name} takes plain positional arguments (no keywords, no *)")
    function, least, most = _FUNCTIONS[name]
    if not least <= len(node.args) <= most:
        raise ToolFailed(f"{name} takes {least}{'-' + str(most) if most != least else ''} argument(s)")
    arguments = [_evaluate(a) for a in node.args]
    if name == "round" and len(arguments) == 2:
        if not isinstance(arguments[1], int):
            raise ToolFailed("round's second argument is a whole number of digits")
        if abs(arguments[1]) > MAX_DIGITS:  # round(5, -10**9) would compute 10**(10**9)
            raise ToolFailed(f"round's second argument must be between -{MAX_DIGITS} and {MAX_DIGITS}")
    try:
        return _check_size(function(arguments) if name in ("min", "max") else function(*arguments))
    except ZeroDivisionError:
        raise ToolFailed(f"{name}: division by zero") from None
    except (ValueError, OverflowError) as exc:
        raise ToolFailed(f"{name}: {exc}") from None


def _evaluate(node: ast.AST):
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):  # bool is a subclass of int: refused by the exact type
            raise ToolFailed(f"only numbers are allowed, not {type(node.value).__name__} {node.value!r}")
        return _check_size(node.value)  # 1e999 is read as inf
    if isinstance(node, ast.BinOp):
        return _binary(node)
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise ToolFailed(f"the operator {_REFUSED_OPERATORS.get(type(node.op), '?')} is not allowed; {_ALLOWED}")
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        if node.id in _FUNCTIONS:
            raise ToolFailed(f"{node.id} is a function: call it like {node.id}(2)")
        raise ToolFailed(f"unknown name {node.id!r}: variables are not allowed; {_ALLOWED}")
    if isinstance(node, ast.Call):
        return _call(node)
    raise ToolFailed(f"not allowed: {_KINDS.get(type(node), type(node).__name__)}; {_ALLOWED}")


def evaluate(expression: str) -> int | float:
    """The value of an arithmetic expression, or ToolFailed saying what is wrong with it.

    Integers stay exact; anything with a division, a float or a math function is a float."""
    text = expression.replace("×", "*").replace("÷", "/").replace("−", "-").strip()
    if not text:
        raise ToolFailed("the expression is empty")
    if len(text) > MAX_CHARS:
        raise ToolFailed(f"the expression is longer than {MAX_CHARS} characters")
    if "^" in text:
        raise ToolFailed("use ** for powers (2**10), not ^")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ToolFailed(f"not an arithmetic expression ({exc.msg})") from None
    except (ValueError, RecursionError, MemoryError):
        raise ToolFailed("not an arithmetic expression") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ToolFailed(f"the expression has more than {MAX_NODES} parts; split it into smaller calculations")
    return _evaluate(tree)


def format_number(value: int | float) -> str:
    """Integers exactly; floats to 12 significant digits, whole ones below 1e15 without a decimal point."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".12g") if isinstance(value, float) else str(value)


class Calculator:
    name = "calculator"
    description = ("Evaluate an arithmetic expression exactly. Use it for any calculation (sums, percentages, "
                   "unit conversions) instead of computing in your head. Supports numbers, "
                   "+ - * / // % ** (power is **, not ^), parentheses, the constants pi and e, and the functions "
                   + ", ".join(_FUNCTIONS) + " (log(x, base) and round(x, digits) take an optional second "
                   "argument). Example: (350 * 12) / 2 + sqrt(16)")
    input_schema = {
        "type": "object",
        "properties": {"expression": {"type": "string", "minLength": 1, "maxLength": MAX_CHARS,
                                      "description": "The arithmetic expression, e.g. '1250 * 0.18'."}},
        "required": ["expression"],
        "additionalProperties": False,
    }

    def announce(self, args: dict) -> str:
        return f"Calculating: {args['expression']}"

    def run(self, args: dict, context: ToolContext) -> ToolOutput:
        shown = format_number(evaluate(args["expression"]))
        return ToolOutput(f"{args['expression']} = {shown}", f"= {shown}")
