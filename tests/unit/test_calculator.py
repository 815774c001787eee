"""The calculator tool: arithmetic without eval, bounded before it computes."""

import re
import time

import pytest

from ragchat.domain import SourceBook, ToolCall, ToolContext
from ragchat.tools.calculator import Calculator, evaluate, format_number
from ragchat.tools.registry import ToolFailed, ToolRegistry


@pytest.mark.parametrize("expression, expected", [
    ("1 + 2 * 3", "7"), ("(1 + 2) * 3", "9"), ("2 * (3 + 4) - 5", "9"), ("-3 ** 2", "-9"), ("2 ** 3 ** 2", "512"),
    ("-(2 + 3)", "-5"), ("+4", "4"), ("7 // 2", "3"), ("-7 // 2", "-4"), ("7 % 4", "3"), ("10 - 4 - 3", "3"),
    ("2 ** -1", "0.5"), ("350 × 12 ÷ 2", "2100"), ("5 − 2", "3"),
])
def test_evaluate_precedence_and_parentheses(expression, expected):
    assert format_number(evaluate(expression)) == expected


def test_evaluate_integers_stay_exact():
    assert evaluate("2 ** 64") == 18446744073709551616
    assert isinstance(evaluate("2 ** 64"), int)
    assert evaluate("12345678901234567890 * 3") == 37037036703703703670
    assert evaluate("10 ** 999 + 1") == 10**999 + 1  # 1000 digits: the largest allowed size


@pytest.mark.parametrize("expression, expected", [
    ("10 / 4", "2.5"), ("10 / 3", "3.33333333333"), ("0.1 + 0.2", "0.3"), ("10 / 2", "5"), ("1e20 * 1.0", "1e+20"),
    ("2 / 3 * 1e-9", "6.66666666667e-10"), ("1250 * 0.18", "225"), ("-0.0", "0"),
])
def test_format_number_float_to_twelve_significant_digits(expression, expected):
    assert format_number(evaluate(expression)) == expected


def test_format_number_int_exactly():
    assert format_number(2**100) == "1267650600228229401496703205376"


@pytest.mark.parametrize("expression, expected", [
    ("sqrt(16) + log(100, 10)", "6"), ("log(e)", "1"), ("log10(1000)", "3"), ("exp(0)", "1"),
    ("sin(0) + cos(0)", "1"), ("tan(pi / 4)", "1"), ("abs(-3)", "3"), ("round(2.567, 2)", "2.57"),
    ("round(2.5)", "2"), ("round(1234, -2)", "1200"), ("max(1, 5, 3) - min(4, 2)", "3"), ("min(7)", "7"),
    ("floor(pi * 100)", "314"), ("ceil(-1.5)", "-1"), ("pi", "3.14159265359"), ("e", "2.71828182846"),
])
def test_evaluate_functions_and_constants(expression, expected):
    assert format_number(evaluate(expression)) == expected


@pytest.mark.parametrize("expression", ["1 / 0", "1 // 0", "5 % 0", "1.0 / 0.0", "0 ** -1", "log(5, 1)"])
def test_evaluate_division_by_zero_refused(expression):
    with pytest.raises(ToolFailed, match="division by zero"):
        evaluate(expression)


@pytest.mark.parametrize("expression, message", [
    ("__import__('os').system('id')", "by bare name (not attribute access"),
    ("__import__('os')", "unknown function '__import__'"),
    ("().__class__", "attribute access"),
    ("(1).real", "attribute access"),
    ("math.sqrt(4)", "by bare name (not attribute access"),
    ("a + 1", "unknown name 'a'"),
    ("sqrt", "sqrt is a function"),
    ("[1, 2]", "not allowed: lists"),
    ("(1, 2)", "not allowed: tuples"),
    ("1,000", "write 1000, not 1,000"),
    ("{1: 2}", "not allowed: dicts"),
    ("[1, 2][0]", "indexing"),
    ("[x for x in (1, 2)]", "comprehensions"),
    ("1 if 1 else 2", "conditional expressions"),
    ("'a' * 3", "only numbers are allowed, not str"),
    ("True + 1", "only numbers are allowed, not bool"),
    ("None", "only numbers are allowed, not NoneType"),
    ("2j", "only numbers are allowed, not complex"),
    ("lambda: 1", "not allowed: lambdas"),
    ("(lambda: 1)()", "not lambdas"),
    ("1 < 2", "not allowed: comparisons"),
    ("1 and 2", "boolean operators"),
    ("not 1", "the operator not is not allowed"),
    ("~1", "the operator ~ is not allowed"),
    ("1 << 2", "the operator << is not allowed"),
    ("(y := 2)", "assignments"),
    ("sqrt(x=4)", "plain positional arguments"),
    ("max(*[1, 2])", "plain positional arguments"),
    ("sqrt(1, 2)", "sqrt takes 1 argument"),
    ("log(1, 2, 3)", "log takes 1-2 argument"),
    ("round(2.5, 1.5)", "whole number of digits"),
    ("1 +", "not an arithmetic expression"),
    ("", "empty"),
    ("2 x 3", "not an arithmetic expression"),  # the letter x is not a multiplication sign
])
def test_evaluate_disallowed_construct_refused_with_its_name(expression, message):
    with pytest.raises(ToolFailed, match=re.escape(message)):
        evaluate(expression)


def test_evaluate_caret_refused_with_power_hint():
    with pytest.raises(ToolFailed, match=re.escape("use ** for powers")):
        evaluate("2 ^ 3")


@pytest.mark.parametrize("expression, message", [
    ("sqrt(-1)", "sqrt: math domain error"),
    ("log(0)", "log: math domain error"),
    ("(-8) ** (1 / 3)", "not a real number"),
    ("2.0 ** 2000", "too large for a floating-point number"),
    ("exp(1000)", "exp: math range error"),
    ("1e308 * 10", "too large"),
    ("1e999", "too large"),
    ("10 ** 400 / 10 ** -400 * 1.5", "too large"),
])
def test_evaluate_math_error_refused_with_reason(expression, message):
    with pytest.raises(ToolFailed, match=re.escape(message)):
        evaluate(expression)


def test_evaluate_length_limit():
    evaluate("1" * 200)
    with pytest.raises(ToolFailed, match="longer than 200 characters"):
        evaluate("1" * 201)


def test_evaluate_node_count_limit():
    evaluate("+".join(["1"] * 30))
    with pytest.raises(ToolFailed, match="more than 100 parts"):
        evaluate("+".join(["1"] * 60))


@pytest.mark.parametrize("expression", [
    "9 ** 9 ** 9", "9**9**9**9", "10 ** 100000", "2 ** 1e300", "(10 ** 600) * (10 ** 600)", "10 ** 1000",
    "(10 ** 100) ** 10", "10 ** 999 * 10", "round(5, -10 ** 9)",
])
def test_evaluate_huge_result_refused_quickly(expression):
    started = time.perf_counter()
    with pytest.raises(ToolFailed, match=r"too large|between"):
        evaluate(expression)
    assert time.perf_counter() - started < 0.5  # refused up front, not computed and then measured


def test_calculator_run_content_and_summary():
    output = Calculator().run({"expression": "2 ** 64 // 4"}, ToolContext("u", SourceBook()))
    assert output.content == "2 ** 64 // 4 = 4611686018427387904"
    assert output.summary == "= 4611686018427387904"
    output = Calculator().run({"expression": "10 / 3"}, ToolContext("u", SourceBook()))
    assert (output.content, output.summary) == ("10 / 3 = 3.33333333333", "= 3.33333333333")


def test_calculator_announce_shows_expression():
    assert Calculator().announce({"expression": "2+2"}) == "Calculating: 2+2"


def test_calculator_registry_accepts_schema_and_runs():
    registry = ToolRegistry([Calculator()])  # checks the schema, additionalProperties: false included
    context = ToolContext("u", SourceBook())
    done = registry.run(ToolCall("c1", "calculator", {"expression": "1250 * 0.18"}), context)
    assert (done.status, done.result.content, done.summary) == ("done", "1250 * 0.18 = 225", "= 225")
    assert registry.announce(ToolCall("c3", "calculator", {"expression": "2+2"})) == "Calculating: 2+2"


def test_calculator_registry_division_by_zero_is_error_outcome():
    registry = ToolRegistry([Calculator()])
    outcome = registry.run(ToolCall("c1", "calculator", {"expression": "1/0"}), ToolContext("u", SourceBook()))
    assert outcome.status == "error" and outcome.result.is_error
    assert outcome.result.content == "Error: division by zero"


@pytest.mark.parametrize("arguments", [{}, {"expression": ""}, {"expression": "1" * 201},
                                       {"expression": "1", "extra": "x"}, {"expression": 12}])
def test_calculator_registry_invalid_input_refused_by_schema(arguments):
    registry = ToolRegistry([Calculator()])
    outcome = registry.run(ToolCall("c1", "calculator", arguments), ToolContext("u", SourceBook()))
    assert outcome.status == "error" and "invalid input for calculator" in outcome.result.content
