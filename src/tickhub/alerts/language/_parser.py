"""Recursive-descent parser and type checker for the condition language.

Grammar (lowest precedence first; comparisons do not chain)::

    condition  := or_expr END                      -- must be boolean
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := sum [("<" | "<=" | ">" | ">=" | "==" | "!=") sum]
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | primary
    primary    := NUMBER | SERIES | call | "(" or_expr ")"   -- SERIES: candle or market
    call       := FUNCTION "(" [argument ("," argument)*] ")"

Every node is typed "number" (a number or a series of numbers) or "boolean"; arithmetic and
comparisons take numbers, `and`/`or`/`not` take booleans. Limits on size and depth are checked
as the tree is built, so hostile input is rejected after bounded work.
"""

from __future__ import annotations

from tickhub.alerts.language._functions import (
    FUNCTIONS,
    MAX_MULTIPLIER,
    MAX_PERIOD,
    ArgKind,
    Function,
    kind_of,
    period,
    split_args,
    warmup,
)
from tickhub.alerts.language._lexer import ConditionError, Token, tokenize
from tickhub.alerts.language._tree import (
    LISTING_SERIES,
    MARKET_SERIES,
    NAMES,
    SERIES,
    Binary,
    Call,
    Condition,
    Kind,
    Node,
    Number,
    Series,
    Unary,
    children,
)

MAX_NODES = 200
MAX_DEPTH = 32

KEYWORDS = frozenset({"and", "or", "not"})
_KNOWN_NAMES = ", ".join([*sorted(SERIES), *sorted(MARKET_SERIES), *sorted(LISTING_SERIES)])
COMPARISONS = frozenset({"<", "<=", ">", ">=", "==", "!="})


def parse(source: str) -> Condition:
    """Parse and type-check `source`; raise `ConditionError` with a position on any fault."""
    parser = _Parser(source, tokenize(source))
    root = parser.condition()
    return Condition(source, root, _lookback(root) + 1, _series(root))


def _lookback(node: Node) -> int:
    inner = max((_lookback(c) for c in children(node)), default=0)
    return inner + warmup(node) if isinstance(node, Call) else inner


def _series(node: Node) -> frozenset[str]:
    own: frozenset[str] = frozenset()
    if isinstance(node, Series):
        own = frozenset({node.name})
    elif isinstance(node, Call) and node.name == "atr":
        own = frozenset({"high", "low", "close"})
    elif isinstance(node, Call) and _implicit(node):
        own = frozenset({"close"})
    return own.union(*(_series(c) for c in children(node)))


def _implicit(node: Call) -> bool:
    """True when the call takes no series argument and so reads `close`."""
    return (
        node.name != "atr"
        and FUNCTIONS[node.name].result == "number"
        and split_args(node)[0] is None
    )


class _Parser:
    def __init__(self, source: str, tokens: list[Token]) -> None:
        self._source = source
        self._tokens = tokens
        self._index = 0
        self._nodes = 0
        self._nesting = 0
        self._depths: dict[int, int] = {}

    # -- token helpers -------------------------------------------------------------------

    @property
    def _peek(self) -> Token:
        return self._tokens[self._index]

    def _advance(self) -> Token:
        token = self._tokens[self._index]
        if token.kind != "end":
            self._index += 1
        return token

    def _at(self, kind: str, text: str | None = None) -> bool:
        token = self._peek
        return token.kind == kind and (text is None or token.text == text)

    def _expect(self, kind: str, what: str) -> Token:
        if not self._at(kind):
            raise ConditionError(f"expected {what}, found {self._found()}", self._peek.position)
        return self._advance()

    def _found(self) -> str:
        token = self._peek
        return "end of input" if token.kind == "end" else repr(token.text)

    # -- node construction with limits -----------------------------------------------------

    def _make(self, node: Node) -> Node:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise ConditionError(
                f"condition is too large (more than {MAX_NODES} nodes)", node.position
            )
        depth = 1 + max((self._depths[id(c)] for c in children(node)), default=0)
        if depth > MAX_DEPTH:
            raise ConditionError(
                f"condition is nested too deeply (more than {MAX_DEPTH})", node.position
            )
        self._depths[id(node)] = depth
        return node

    def _enter(self, position: int) -> None:
        self._nesting += 1
        if self._nesting > MAX_DEPTH:
            raise ConditionError(
                f"condition is nested too deeply (more than {MAX_DEPTH})", position
            )

    def _need(self, node: Node, kind: Kind, context: str) -> None:
        actual = kind_of(node)
        if actual != kind:
            what = "a comparison or condition" if actual == "boolean" else "a number or series"
            raise ConditionError(f"{context} needs a {kind}, got {what}", node.position)

    # -- grammar ---------------------------------------------------------------------------

    def condition(self) -> Node:
        if self._at("end"):
            raise ConditionError("condition is empty", 0)
        root = self._or()
        if not self._at("end"):
            raise ConditionError(f"unexpected {self._found()}", self._peek.position)
        if kind_of(root) != "boolean":
            raise ConditionError(
                "a condition must be true or false, e.g. a comparison like close > 100", 0
            )
        return root

    def _or(self) -> Node:
        left = self._and()
        while self._at("name", "or"):
            token = self._advance()
            right = self._and()
            left = self._logical(token, left, right)
        return left

    def _and(self) -> Node:
        left = self._not()
        while self._at("name", "and"):
            token = self._advance()
            right = self._not()
            left = self._logical(token, left, right)
        return left

    def _logical(self, token: Token, left: Node, right: Node) -> Node:
        self._need(left, "boolean", f"'{token.text}'")
        self._need(right, "boolean", f"'{token.text}'")
        return self._make(Binary(token.text, left, right, token.position))

    def _not(self) -> Node:
        if self._at("name", "not"):
            token = self._advance()
            self._enter(token.position)
            operand = self._not()
            self._nesting -= 1
            self._need(operand, "boolean", "'not'")
            return self._make(Unary("not", operand, token.position))
        return self._comparison()

    def _comparison(self) -> Node:
        left = self._sum()
        if self._peek.kind == "op" and self._peek.text in COMPARISONS:
            token = self._advance()
            right = self._sum()
            self._need(left, "number", f"'{token.text}'")
            self._need(right, "number", f"'{token.text}'")
            node = self._make(Binary(token.text, left, right, token.position))
            if self._peek.kind == "op" and self._peek.text in COMPARISONS:
                raise ConditionError(
                    "comparisons cannot be chained; join them with 'and'", self._peek.position
                )
            return node
        return left

    def _sum(self) -> Node:
        left = self._product()
        while self._at("op", "+") or self._at("op", "-"):
            left = self._arithmetic(self._advance(), left, self._product())
        return left

    def _product(self) -> Node:
        left = self._unary()
        while self._at("op", "*") or self._at("op", "/"):
            left = self._arithmetic(self._advance(), left, self._unary())
        return left

    def _arithmetic(self, token: Token, left: Node, right: Node) -> Node:
        self._need(left, "number", f"'{token.text}'")
        self._need(right, "number", f"'{token.text}'")
        return self._make(Binary(token.text, left, right, token.position))

    def _unary(self) -> Node:
        if self._at("op", "-"):
            token = self._advance()
            self._enter(token.position)
            operand = self._unary()
            self._nesting -= 1
            self._need(operand, "number", "'-'")
            return self._make(Unary("-", operand, token.position))
        return self._primary()

    def _primary(self) -> Node:
        token = self._peek
        if token.kind == "number":
            self._advance()
            return self._make(Number(float(token.text), token.position))
        if token.kind == "(":
            self._advance()
            self._enter(token.position)
            inner = self._or()
            self._nesting -= 1
            self._expect(")", "')'")
            return inner
        if token.kind == "name":
            return self._name()
        raise ConditionError(f"expected a value, found {self._found()}", token.position)

    def _name(self) -> Node:
        token = self._advance()
        name = token.text
        called = self._at("(")
        if name in KEYWORDS:
            raise ConditionError(f"unexpected keyword '{name}'", token.position)
        if name in NAMES:
            if called:
                raise ConditionError(f"'{name}' is a series, not a function", token.position)
            return self._make(Series(name, token.position))
        function = FUNCTIONS.get(name)
        if function is None:
            known = _KNOWN_NAMES if not called else ", ".join(sorted(FUNCTIONS))
            what = "function" if called else "name"
            raise ConditionError(f"unknown {what} '{name}' (known: {known})", token.position)
        if not called:
            raise ConditionError(
                f"'{name}' is a function; call it as {function.usage(name)}", token.position
            )
        open_paren = self._advance()
        self._enter(open_paren.position)
        args: list[Node] = []
        positions: list[int] = []
        if not self._at(")"):
            while True:
                positions.append(self._peek.position)
                args.append(self._or())
                if not self._at(","):
                    break
                self._advance()
        self._expect(")", "',' or ')'")
        self._nesting -= 1
        signature = next((s for s in function.signatures if len(s.params) == len(args)), None)
        if signature is None:
            raise ConditionError(
                f"'{name}' takes {function.usage(name)}, got {len(args)} argument"
                + ("" if len(args) == 1 else "s"),
                token.position,
            )
        for index, (arg, param, position) in enumerate(
            zip(args, signature.params, positions, strict=True), start=1
        ):
            last = index == len(args)
            self._check_argument(name, function, index, arg, param, position, last=last)
        if name.startswith("macd"):
            fast, slow = (period(a) for a in args[-3:-1])
            if fast >= slow:
                raise ConditionError(
                    f"'{name}' needs fast < slow, got {fast} and {slow}", positions[-3]
                )
        return self._make(Call(name, tuple(args), token.position))

    def _check_argument(
        self,
        name: str,
        function: Function,
        index: int,
        arg: Node,
        param: ArgKind,
        position: int,
        *,
        last: bool,
    ) -> None:
        where = f"argument {index} of '{name}'"
        if param == "series":
            self._need(arg, "number", where)
            return
        if not isinstance(arg, Number):
            raise ConditionError(f"{where} must be a number literal", position)
        if param == "period":
            # TA-Lib accepts a MACD signal period of 1; every other minimum is per function
            low = 1 if name.startswith("macd") and last else function.min_period
            if not arg.value.is_integer() or not low <= arg.value <= MAX_PERIOD:
                raise ConditionError(
                    f"{where} must be a whole number of candles from {low} to {MAX_PERIOD}",
                    position,
                )
        elif not 0 < arg.value <= MAX_MULTIPLIER:
            raise ConditionError(
                f"{where} must be above 0 and at most {MAX_MULTIPLIER:g}", position
            )
