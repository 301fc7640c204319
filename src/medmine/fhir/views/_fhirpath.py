"""Parse the FHIRPath subset SQL on FHIR v2 requires into a small syntax tree.

Written here rather than taken from a library: FHIRPath libraries (``fhirpathpy`` and
others) evaluate a path over one resource in Python, and none compiles FHIRPath to SQL,
which is what a set-wise engine needs. A recursive-descent parser over the subset is
about 200 lines and says exactly where a path is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from medmine.fhir.views._exceptions import ViewDefinitionError

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<str>'(?:[^'\\]|\\.)*')
  | (?P<date>@[0-9T:.+\-Z]+)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)
  | (?P<ext>%[A-Za-z_][A-Za-z0-9_]*|%`[^`]+`)
  | (?P<this>\$this|\$index|\$total)
  | (?P<op><=|>=|!=|!~|[=~<>|+\-*/&.,()\[\]])
    """,
    re.VERBOSE,
)

#: Binary operators by precedence, lowest first (FHIRPath specification section 6).
_LEVELS: tuple[tuple[str, ...], ...] = (
    ("implies",),
    ("or", "xor"),
    ("and",),
    ("in", "contains"),
    ("=", "~", "!=", "!~"),
    ("<", ">", "<=", ">="),
    ("|",),
    ("is", "as"),
    ("+", "-", "&"),
    ("*", "/", "div", "mod"),
)
_WORD_OPS = {"implies", "or", "xor", "and", "in", "contains", "is", "as", "div", "mod"}


@dataclass(frozen=True)
class Node:
    """One node of a FHIRPath syntax tree.

    ``kind`` is one of ``this``, ``member``, ``call``, ``index``, ``binop``, ``neg``,
    ``str``, ``num``, ``bool``, ``date``, ``const``; ``base`` is the expression it applies
    to (``None`` at the start of a path), ``name`` the member, function, operator or
    constant name, ``value`` a literal's value and ``args`` the arguments.
    """

    kind: str
    base: Node | None = None
    name: str = ""
    value: object = None
    args: tuple[Node, ...] = ()


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ViewDefinitionError(
                f"FHIRPath {text!r}: unexpected character {text[pos]!r} at position {pos}; "
                "check the expression against the FHIRPath grammar."
            )
        pos = m.end()
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append((kind, m.group()))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def error(self, what: str) -> ViewDefinitionError:
        return ViewDefinitionError(f"FHIRPath {self.text!r}: {what}.")

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            got = "the end" if tok is None else repr(tok[1])
            raise self.error(f"expected {value or 'a term'!r}, got {got}")
        self.i += 1
        return tok

    def parse(self) -> Node:
        if not self.toks:
            raise self.error("empty expression")
        node = self.binary(0)
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def binary(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while (tok := self.peek()) is not None and tok[1] in _LEVELS[level]:
            if tok[0] == "ident" and tok[1] not in _WORD_OPS:
                break
            self.i += 1
            right = self.binary(level + 1)
            left = Node("binop", name=tok[1], args=(left, right))
        return left

    def unary(self) -> Node:
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in ("+", "-"):
            self.i += 1
            inner = self.unary()
            return inner if tok[1] == "+" else Node("neg", base=inner)
        return self.postfix(self.term())

    def postfix(self, node: Node) -> Node:
        while (tok := self.peek()) is not None and tok[1] in (".", "["):
            self.i += 1
            if tok[1] == "[":
                index = self.binary(0)
                self.take("]")
                node = Node("index", base=node, args=(index,))
                continue
            kind, name = self.take()
            if kind != "ident":
                raise self.error(f"expected a name after '.', got {name!r}")
            node = self.invocation(node, name.strip("`"))
        return node

    def invocation(self, base: Node | None, name: str) -> Node:
        tok = self.peek()
        if tok is not None and tok[1] == "(":
            self.i += 1
            args: list[Node] = []
            if self.peek() is not None and self.peek()[1] != ")":  # type: ignore[index]
                args.append(self.binary(0))
                while self.peek() is not None and self.peek()[1] == ",":  # type: ignore[index]
                    self.i += 1
                    args.append(self.binary(0))
            self.take(")")
            return Node("call", base=base, name=name, args=tuple(args))
        return Node("member", base=base, name=name)

    def term(self) -> Node:
        kind, text = self.take()
        if kind == "str":
            body = text[1:-1]
            body = re.sub(
                r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m[1], m[1]), body
            )
            return Node("str", value=body)
        if kind == "num":
            return Node("num", value=text)
        if kind == "date":
            return Node("date", value=text[1:])
        if kind == "ext":
            return Node("const", name=text[1:].strip("`"))
        if kind == "this":
            if text != "$this":
                raise self.error(f"{text} is not supported")
            return Node("this")
        if kind == "ident":
            if text in ("true", "false"):
                return Node("bool", value=text == "true")
            return self.invocation(None, text.strip("`"))
        if text == "(":
            inner = self.binary(0)
            self.take(")")
            return inner
        raise self.error(f"unexpected {text!r}")


def parse(text: str) -> Node:
    """Parse a FHIRPath expression of the SQL on FHIR subset.

    Raises
    ------
    ViewDefinitionError
        When the text is not a FHIRPath expression; the message names the position.

    >>> parse("name.where(use = 'official').family").kind
    'member'
    """
    if not isinstance(text, str):
        raise ViewDefinitionError(
            f"a FHIRPath expression must be a string, got {type(text).__name__}."
        )
    return _Parser(text).parse()
