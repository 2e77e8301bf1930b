"""Tokenizer for the condition language: a fixed alphabet, nothing else gets through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MAX_SOURCE = 1_000
MAX_NUMBER = 16
MAX_NAME = 32

TokenKind = Literal["number", "name", "op", "(", ")", ",", "end"]

_OPERATORS = ("<=", ">=", "==", "!=", "<", ">", "+", "-", "*", "/")
_WHITESPACE = frozenset(" \t\r\n")
_DIGITS = frozenset("0123456789")
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyz_")
_NAME_CHARS = _NAME_START | _DIGITS


class ConditionError(ValueError):
    """A condition was rejected; `position` is the 0-based character offset of the fault."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at position {position})")
        self.message = message
        self.position = position


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    text: str
    position: int


def _describe(char: str) -> str:
    return repr(char) if char.isprintable() else f"U+{ord(char):04X}"


def tokenize(source: str) -> list[Token]:
    """Split `source` into tokens, ending with an `end` token; raise `ConditionError`."""
    if len(source) > MAX_SOURCE:
        raise ConditionError(
            f"condition is too long ({len(source)} characters, at most {MAX_SOURCE})", MAX_SOURCE
        )
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        char = source[i]
        if char in _WHITESPACE:
            i += 1
        elif char in _DIGITS:
            tokens.append(_number(source, i))
            i += len(tokens[-1].text)
        elif char in _NAME_START:
            j = i + 1
            while j < n and source[j] in _NAME_CHARS:
                j += 1
            if j - i > MAX_NAME:
                raise ConditionError(f"name is too long (at most {MAX_NAME} characters)", i)
            tokens.append(Token("name", source[i:j], i))
            i = j
        elif char in "(),":
            kind: TokenKind = "(" if char == "(" else ")" if char == ")" else ","
            tokens.append(Token(kind, char, i))
            i += 1
        else:
            op = next((o for o in _OPERATORS if source.startswith(o, i)), None)
            if op is None:
                hint = "; use == to compare" if char == "=" else ""
                raise ConditionError(f"unexpected character {_describe(char)}{hint}", i)
            tokens.append(Token("op", op, i))
            i += len(op)
    tokens.append(Token("end", "", n))
    return tokens


def _number(source: str, start: int) -> Token:
    n = len(source)
    j = start
    while j < n and source[j] in _DIGITS:
        j += 1
    if j < n and source[j] == ".":
        j += 1
        if j >= n or source[j] not in _DIGITS:
            raise ConditionError("expected digits after the decimal point", j)
        while j < n and source[j] in _DIGITS:
            j += 1
    if j < n and (source[j] in _NAME_CHARS or source[j] == "."):
        raise ConditionError("malformed number (no exponents, one decimal point)", j)
    if j - start > MAX_NUMBER:
        raise ConditionError(f"number is too long (at most {MAX_NUMBER} characters)", start)
    return Token("number", source[start:j], start)
