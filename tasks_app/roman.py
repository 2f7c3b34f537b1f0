"""Roman numerals, as the plan's appendix numbers its groups of tasks (I, II, … X)."""

from __future__ import annotations

_NUMERALS = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL")]
_NUMERALS += [(10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def to_roman(number: int) -> str:
    out = []
    for value, letters in _NUMERALS:
        while number >= value:
            out.append(letters)
            number -= value
    return "".join(out)


def from_roman(text: str) -> int:
    """The value of an upper-case numeral (KeyError on any other letter)."""
    total = 0
    for current, following in zip(text, [*text[1:], ""], strict=True):
        value = _VALUES[current]
        total += -value if following and _VALUES[following] > value else value
    return total
