"""The calculator tool: arithmetic without eval, bounded before it computes."""

import re
import time

import pytest

from ragchat.domain import SourceBook, ToolCall, ToolContext
from ragchat.tools.calculator import Calculator, evaluate, format_number
from ragchat.tools.registry import ToolFailed, ToolRegistry


@pytest.mark.parametrize("expression, expected", [
    ("1 + 2 * 3", "7"), ("(1 + 2) * 3", "9"), ("-3 ** 2", "-9"), ("7 // 2", "3"), ("7 % 4", "3"),
    ("2 ** 64", "18446744073709551616"), ("10 / 4", "2.5"), ("10 / 3", "3.33333333333"), ("0.1 + 0.2", "0.3"),
    ("350 × 12 ÷ 2", "2100"), ("sqrt(16) + log(100, 10)", "6"), ("round(2.567, 2)", "2.57"),
    ("max(1, 5, 3) - min(4, 2)", "3"), ("floor(pi * 100)", "314"), ("e", "2.71828182846"),
])
def test_calculator_evaluates_arithmetic(expression, expected):
    assert format_number(evaluate(expression)) == expected


def test_calculator_keeps_integers_exact():
    assert evaluate("12345678901234567890 * 3") == 37037036703703703670


@pytest.mark.parametrize("expression, message", [
    ("__import__('os').system('id')", "unknown function"),
    ("().__class__", "Attribute is not allowed"),
    ("a + 1", "unknown name 'a'"),
    ("[1, 2]", "List is not allowed"),
    ("1 if 1 else 2", "IfExp is not allowed"),
    ("'a' * 3", "only numbers are allowed"),
    ("True + 1", "only numbers are allowed, not bool"),
    ("(lambda: 1)()", "unknown function"),
    ("1 < 2", "Compare is not allowed"),
    ("2 ^ 3", "use ** for powers"),
    ("sqrt(x=4)", "plain positional arguments"),
    ("sqrt(1, 2)", "sqrt takes 1 argument"),
    ("1 / 0", "division by zero"),
    ("sqrt(-1)", "math domain error"),
    ("(-8) ** (1 / 3)", "not a real number"),
    ("2.0 ** 2000", "too large for a floating-point number"),
    ("1 +", "not an arithmetic expression"),
    ("1" * 201, "longer than 200 characters"),
    ("+".join(["1"] * 60), "more than 100 parts"),
])
def test_calculator_refuses_with_a_reason(expression, message):
    with pytest.raises(ToolFailed, match=re.escape(message)):
        evaluate(expression)


@pytest.mark.parametrize("expression", ["9 ** 9 ** 9", "10 ** 100000", "(10 ** 600) * (10 ** 600)"])
def test_calculator_refuses_huge_results_before_computing_them(expression):
    started = time.perf_counter()
    with pytest.raises(ToolFailed, match="too large"):
        evaluate(expression)
    assert time.perf_counter() - started < 0.5  # refused up front, not computed and then measured


def test_calculator_tool_through_the_registry():
    registry = ToolRegistry([Calculator()])
    context = ToolContext("alice", SourceBook())
    done = registry.run(ToolCall("c1", "calculator", {"expression": "1250 * 0.18"}), context)
    assert (done.status, done.result.content, done.summary) == ("done", "1250 * 0.18 = 225", "= 225")
    failed = registry.run(ToolCall("c2", "calculator", {"expression": "1/0"}), context)
    assert failed.status == "error" and failed.result.content == "Error: division by zero"
    assert registry.announce(ToolCall("c3", "calculator", {"expression": "2+2"})) == "Calculating: 2+2"
