"""The `calculator` group: arithmetic by walking a whitelisted AST, never `eval`.

Integers stay exact; every intermediate result is size-checked, and `**` and `factorial`
estimate their result size *before* computing, so `9**9**9` fails at once instead of
hanging the process. Floats are shown with 15 significant digits (what a double holds
reliably), which also turns `0.1+0.2` into `0.3`.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, Field

Number = int | float

MAX_EXPRESSION_CHARS = 500
MAX_DEPTH = 60
MAX_RESULT_DIGITS = 1000
TYPED_OPERATORS = {"×": "*", "÷": "/", "^": "**", "−": "-"}


def _too_big(digits: float) -> ToolException:
    return ToolException(
        f"the result would have about {digits:.3g} digits; the calculator handles at most "
        f"{MAX_RESULT_DIGITS}. Rewrite the expression with smaller numbers, or use logarithms."
    )


def _power(base: Number, exponent: Number) -> Number:
    if isinstance(base, int) and isinstance(exponent, int) and exponent >= 0:
        if abs(base) > 1 and exponent * math.log10(abs(base)) > MAX_RESULT_DIGITS:
            raise _too_big(exponent * math.log10(abs(base)))
        return base**exponent
    result = float(base) ** float(exponent)
    if isinstance(result, complex):
        raise ToolException("the result is complex (a fractional power of a negative number)")
    return result


def _factorial(n: Number) -> int:
    if isinstance(n, float) and n.is_integer():
        n = int(n)
    if not isinstance(n, int) or n < 0:
        raise ToolException("factorial needs a whole number ≥ 0")
    digits = math.lgamma(n + 1) / math.log(10)
    if digits > MAX_RESULT_DIGITS:
        raise _too_big(digits)
    return math.factorial(n)


def _log(x: Number, base: Number = math.e) -> float:
    return math.log(x, base)


def _round(x: Number, ndigits: int = 0) -> Number:
    # round(5, -10**9) would build 10**(10**9) internally.
    if not isinstance(ndigits, int) or abs(ndigits) > 100:
        raise ToolException("round's second argument must be a whole number between -100 and 100")
    return round(x, ndigits) if ndigits else round(x)


BINARY: dict[type[ast.operator], Callable[[Any, Any], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}
UNARY: dict[type[ast.unaryop], Callable[[Any], Number]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
FUNCTIONS: dict[str, Callable[..., Number]] = {
    "sqrt": math.sqrt, "exp": math.exp, "log": _log, "log10": math.log10, "log2": math.log2,
    "sin": math.sin, "cos": math.cos, "tan": math.tan,
    "asin": math.asin, "acos": math.acos, "atan": math.atan,
    "abs": abs, "round": _round, "floor": math.floor, "ceil": math.ceil,
    "min": min, "max": max, "factorial": _factorial,
}  # fmt: skip
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}
SUPPORTED = (
    "numbers, + - * / // % ** (also ^ × ÷), parentheses, "
    f"{', '.join(FUNCTIONS)} and the constants {', '.join(CONSTANTS)}"
)


def evaluate(expression: str) -> Number:
    """The value of `expression`, or a ToolException the model can act on."""
    tree = _parse(expression)
    try:
        return _eval(tree.body, depth=0)
    except ZeroDivisionError:
        raise ToolException("division by zero") from None
    except OverflowError:
        raise ToolException("the result is too large to represent") from None
    except ValueError:
        raise ToolException(
            "a function got a value outside its domain, e.g. sqrt(-1), log(0) or asin(2)"
        ) from None
    except TypeError as error:
        raise ToolException(f"wrong arguments for a function: {error}") from None


def _parse(expression: str) -> ast.Expression:
    text = expression.strip().rstrip("=").strip()
    if not text:
        raise ToolException("the expression is empty; pass something like '25 * 8'")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ToolException(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    for typed, python in TYPED_OPERATORS.items():
        text = text.replace(typed, python)
    try:
        return ast.parse(text, mode="eval")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        raise ToolException(f"could not parse '{expression}'; supported: {SUPPORTED}") from None


def _eval(node: ast.AST, depth: int) -> Number:
    if depth > MAX_DEPTH:
        raise ToolException(f"the expression is nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in CONSTANTS:
        return CONSTANTS[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        left, right = _eval(node.left, depth + 1), _eval(node.right, depth + 1)
        return _checked(BINARY[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        return UNARY[type(node.op)](_eval(node.operand, depth + 1))
    if isinstance(node, ast.Call):
        return _call(node, depth)
    if isinstance(node, ast.Tuple):
        raise ToolException("commas only separate function arguments; write 1000, not 1,000")
    raise ToolException(f"unsupported: '{ast.unparse(node)}'. The calculator supports {SUPPORTED}")


def _call(node: ast.Call, depth: int) -> Number:
    name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
    if name not in FUNCTIONS:
        raise ToolException(f"unknown function '{name}'; available: {', '.join(FUNCTIONS)}")
    if node.keywords:
        raise ToolException(f"pass {name}'s arguments by position, e.g. log(8, 2)")
    args = [_eval(arg, depth + 1) for arg in node.args]
    return _checked(FUNCTIONS[name](*args))


def _checked(value: Number) -> Number:
    if isinstance(value, int) and value.bit_length() > MAX_RESULT_DIGITS * 3.33:
        raise _too_big(value.bit_length() * math.log10(2))
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolException("the result is too large to represent (or not a number)")
    return value


def format_number(value: Number) -> str:
    """Exact integers as-is; floats to 15 significant digits, without a trailing '.0'."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value) if isinstance(value, int) else f"{value:.15g}"


class CalculatorArgs(BaseModel):
    expression: str = Field(
        description="Arithmetic to evaluate, e.g. '25 * 8', '(1.07 ** 10 - 1) * 100' or "
        "'sqrt(2) / 2'. Numbers only: no variables, units or thousands separators."
    )


def calculator(expression: str) -> str:
    return format_number(evaluate(expression))


def calculator_tools() -> list[BaseTool]:
    """The calculator tool."""
    return [
        StructuredTool.from_function(
            func=calculator,
            name="calculator",
            description=(
                "Evaluate an arithmetic expression and return the number. Use it for every "
                "calculation instead of computing in your head. Supports " + SUPPORTED + ". "
                "% means remainder, not percent; trig functions use radians. Whole numbers "
                "are exact; decimals are shown to 15 significant digits."
            ),
            args_schema=CalculatorArgs,
        )
    ]
