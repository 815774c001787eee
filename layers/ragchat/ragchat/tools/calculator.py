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
MAX_NODES = 100
MAX_DIGITS = 1000  # an integer result longer than this is refused
MAX_EXPONENT = 10_000

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS = {"sqrt": (math.sqrt, 1, 1), "log": (math.log, 1, 2), "log10": (math.log10, 1, 1),
              "exp": (math.exp, 1, 1), "sin": (math.sin, 1, 1), "cos": (math.cos, 1, 1), "tan": (math.tan, 1, 1),
              "abs": (abs, 1, 1), "round": (round, 1, 2), "min": (min, 1, 20), "max": (max, 1, 20),
              "floor": (math.floor, 1, 1), "ceil": (math.ceil, 1, 1)}
_CONSTANTS = {"pi": math.pi, "e": math.e}


def _digits(value: int | float) -> float:
    return math.log10(abs(value)) if value else 0.0


def _power(base, exponent):
    if isinstance(exponent, float) and isinstance(base, (int, float)) and base < 0 and not exponent.is_integer():
        raise ToolFailed("a negative number to a fractional power is not a real number")
    if abs(exponent) > MAX_EXPONENT or (abs(base) > 1 and exponent > 0 and exponent * _digits(base) > MAX_DIGITS):
        raise ToolFailed(f"the power is too large (results are limited to {MAX_DIGITS} digits)")
    return base ** exponent


def _check_size(value):
    if isinstance(value, int) and _digits(value) > MAX_DIGITS:
        raise ToolFailed(f"the result is too large (over {MAX_DIGITS} digits)")
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolFailed("the result is too large for a floating-point number")
    return value


def _evaluate(node: ast.AST):
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):  # bool is a subclass of int: refused by the exact type
            raise ToolFailed(f"only numbers are allowed, not {type(node.value).__name__} {node.value!r}")
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Mult) and _digits(left) + _digits(right) > MAX_DIGITS:
            raise ToolFailed(f"the result is too large (over {MAX_DIGITS} digits)")
        try:
            if isinstance(node.op, ast.Pow):
                return _check_size(_power(left, right))
            return _check_size(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError:
            raise ToolFailed("division by zero") from None
        except OverflowError:
            raise ToolFailed("the result is too large for a floating-point number") from None
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise ToolFailed(f"unknown name {node.id!r}; constants are pi and e")
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in _FUNCTIONS:
            raise ToolFailed(f"unknown function; the functions are {', '.join(_FUNCTIONS)}")
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise ToolFailed(f"{name} takes plain positional arguments")
        function, least, most = _FUNCTIONS[name]
        if not least <= len(node.args) <= most:
            raise ToolFailed(f"{name} takes {least}{'-' + str(most) if most != least else ''} argument(s)")
        arguments = [_evaluate(a) for a in node.args]
        if name == "round" and len(arguments) == 2 and not isinstance(arguments[1], int):
            raise ToolFailed("round's second argument is a whole number of digits")
        try:
            return _check_size(function(*arguments))
        except (ValueError, OverflowError) as exc:
            raise ToolFailed(f"{name}: {exc}") from None
    raise ToolFailed(f"{type(node).__name__} is not allowed: only numbers, + - * / // % **, "
                     f"parentheses, pi, e and the functions {', '.join(_FUNCTIONS)}")


def evaluate(expression: str) -> int | float:
    """The value of an arithmetic expression, or ToolFailed saying what is wrong with it."""
    text = expression.replace("×", "*").replace("÷", "/").replace("−", "-").strip()
    if not text:
        raise ToolFailed("the expression is empty")
    if len(text) > MAX_CHARS:
        raise ToolFailed(f"the expression is longer than {MAX_CHARS} characters")
    if "^" in text:
        raise ToolFailed("use ** for powers (^ is not arithmetic here)")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ToolFailed(f"not an arithmetic expression ({exc.msg})") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ToolFailed(f"the expression has more than {MAX_NODES} parts")
    return _evaluate(tree)


def format_number(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".12g") if isinstance(value, float) else str(value)


class Calculator:
    name = "calculator"
    description = ("Evaluate arithmetic exactly; use it for any calculation instead of doing it in your head. "
                   "Numbers, + - * / // % ** and parentheses, the constants pi and e, and the functions "
                   + ", ".join(_FUNCTIONS) + ". Example: (350 * 12) / 2 + sqrt(16)")
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
