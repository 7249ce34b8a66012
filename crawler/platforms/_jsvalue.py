"""Values that pages embed as JavaScript rather than JSON. Pure, bounded, no evaluation.

Three forms are read, each found after ``<name> =`` (``var X =``, ``window.X =``,
``window["X"] =``):

- a JSON object: ``var ytInitialData = {...};``
- a JavaScript string holding JSON, as YouTube's mobile pages write it:
  ``var ytInitialData = '\\x7b\\x22responseContext\\x22...';``
- the function call that Vue/Nuxt server renders write (Bilibili's ``window.__pinia``):
  ``(function(a,b,c){return {key:a,list:[b,c]}}("x",1,null))`` — a function whose parameters
  stand for values repeated in the state, called with those values.

The third form is why this module exists: a JSON parser stops at ``function``, and the
JS-literal libraries (``chompjs``, ``json5``) parse an object literal but return a bare
identifier such as ``a`` as the *string* ``"a"`` — indistinguishable from a real string
``"a"`` — and do not bind a function's parameters to its arguments. So this is a small
recursive-descent reader of JavaScript *literals* (objects, arrays, strings, numbers,
``true/false/null/undefined``, ``void 0``, ``!0``/``!1``, ``-x``) where an identifier is looked
up in the parameters it was called with. It never runs code: anything else (an operator, a
call other than the outer one) is a :class:`JsValueError`. Depth and size are bounded.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 200
MAX_CHARS = 20_000_000


class JsValueError(ValueError):
    """The text is not a JavaScript literal of the forms read here."""


_UNDEFINED: Any = None  # JavaScript's undefined reads as None, like null
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_NUMBER = re.compile(r"-?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
_SPACE = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)+", re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


class _Reader:
    def __init__(self, text: str, pos: int = 0) -> None:
        self.text = text
        self.pos = pos

    # --- lexical ----------------------------------------------------------------------
    def skip(self) -> None:
        m = _SPACE.match(self.text, self.pos)
        if m:
            self.pos = m.end()

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, token: str) -> None:
        self.skip()
        if not self.text.startswith(token, self.pos):
            got = self.text[self.pos:self.pos + 20]
            raise JsValueError(f"expected {token!r} at {self.pos}, got {got!r}")
        self.pos += len(token)

    def accept(self, token: str) -> bool:
        self.skip()
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def ident(self) -> str:
        self.skip()
        m = _IDENT.match(self.text, self.pos)
        if m is None:
            raise JsValueError(f"expected a name at {self.pos}")
        self.pos = m.end()
        return m.group(0)

    def string(self) -> str:
        quote = self.text[self.pos]
        out: list[str] = []
        i = self.pos + 1
        text = self.text
        while i < len(text):
            c = text[i]
            if c == quote:
                self.pos = i + 1
                return "".join(out)
            if c != "\\":
                j = i
                while j < len(text) and text[j] not in (quote, "\\"):
                    j += 1
                out.append(text[i:j])
                i = j
                continue
            nxt = text[i + 1:i + 2]
            if nxt == "x":
                out.append(chr(int(text[i + 2:i + 4], 16)))
                i += 4
            elif nxt == "u" and text[i + 2:i + 3] == "{":
                end = text.index("}", i)
                out.append(chr(int(text[i + 3:end], 16)))
                i = end + 1
            elif nxt == "u":
                out.append(chr(int(text[i + 2:i + 6], 16)))
                i += 6
            elif nxt == "\n":  # line continuation
                i += 2
            else:
                out.append(_ESCAPES.get(nxt, nxt))
                i += 2
        raise JsValueError("unterminated string")

    # --- values -------------------------------------------------------------------------
    def value(self, env: dict[str, Any], depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise JsValueError("nested too deeply")
        c = self.peek()
        if c == "{":
            return self._object(env, depth)
        if c == "[":
            return self._array(env, depth)
        if c in "\"'`":
            if c == "`" and "${" in self.text[self.pos:self.text.find("`", self.pos + 1)]:
                raise JsValueError("template literal with substitutions")
            return self.string()
        if c == "!":
            self.pos += 1
            return not self.value(env, depth + 1)
        if c in "-+" or c.isdigit() or c == ".":
            m = _NUMBER.match(self.text, self.pos + (1 if c == "+" else 0))
            if m is None:
                raise JsValueError(f"bad number at {self.pos}")
            self.pos = m.end()
            text = m.group(0)
            if re.fullmatch(r"-?0[xX][0-9a-fA-F]+", text):
                return int(text, 16)
            number = float(text)
            return int(number) if number.is_integer() and not re.search(r"[.eE]", text) else number
        name = self.ident()
        if name == "true":
            return True
        if name in ("false",):
            return False
        if name in ("null", "undefined"):
            return None
        if name == "void":
            self.value(env, depth + 1)
            return _UNDEFINED
        if name in ("NaN", "Infinity"):
            return None
        if name in env:
            return env[name]
        raise JsValueError(f"unknown name {name!r} at {self.pos}")

    def _object(self, env: dict[str, Any], depth: int) -> dict[str, Any]:
        self.expect("{")
        out: dict[str, Any] = {}
        while not self.accept("}"):
            c = self.peek()
            if c in "\"'":
                key = self.string()
            elif c.isdigit():
                m = _NUMBER.match(self.text, self.pos)
                assert m is not None
                key, self.pos = m.group(0), m.end()
            else:
                key = self.ident()
            if self.accept(":"):
                out[key] = self.value(env, depth + 1)
            else:  # shorthand {a}
                out[key] = env.get(key)
            if not self.accept(","):
                self.expect("}")
                break
        return out

    def _array(self, env: dict[str, Any], depth: int) -> list[Any]:
        self.expect("[")
        out: list[Any] = []
        while not self.accept("]"):
            if self.peek() == ",":  # a hole: [a,,b]
                self.pos += 1
                out.append(None)
                continue
            out.append(self.value(env, depth + 1))
            if not self.accept(","):
                self.expect("]")
                break
        return out

    # --- the server-render call --------------------------------------------------------
    def call(self) -> Any:
        """``(function(p1,p2){ ...; return VALUE }(a1,a2))`` or ``(function(){...})(...)``."""
        self.expect("(")
        self.expect("function")
        self.expect("(")
        params: list[str] = []
        while not self.accept(")"):
            params.append(self.ident())
            self.accept(",")
        self.expect("{")
        body_start = self.pos
        end = _matching_brace(self.text, body_start - 1)
        self.pos = end + 1
        wrapped = self.accept(")")  # (function(){...})(args)
        args: list[Any] = []
        self.expect("(")
        while not self.accept(")"):
            args.append(self.value({}))
            if not self.accept(","):
                self.expect(")")
                break
        env = dict(zip(params, args, strict=False))
        env.update({p: None for p in params[len(args):]})
        body = _Reader(self.text[:end], body_start)
        m = re.compile(r"\breturn\b").search(self.text, body_start, end)
        if m is None:
            raise JsValueError("the function returns nothing")
        body.pos = m.end()
        value = body.value(env)
        if not wrapped:
            self.expect(")")
        return value


def _matching_brace(text: str, start: int) -> int:
    """Index of the ``}`` closing the ``{`` at ``start`` (strings skipped)."""
    depth = 0
    i = start
    n = len(text)
    while i < n:
        c = text[i]
        if c in "\"'`":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise JsValueError("unbalanced braces")


def _assignment(body: str, name: str) -> int | None:
    """Where the value assigned to ``name`` starts, or None."""
    m = re.search(r"(?:\bvar\s+|\bwindow\.|\bwindow\[\s*[\"'])" + re.escape(name)
                  + r"(?:[\"']\s*\])?\s*=\s*", body)
    if m is None:
        m = re.search(r"(?<![\w.$])" + re.escape(name) + r"\s*=\s*", body)
    return m.end() if m else None


def js_assignment(body: str, name: str) -> tuple[Any, str] | None:
    """The value assigned to ``name`` in a page and its form (``"json"``, ``"string"``,
    ``"function"``), or None when the page assigns nothing to it. Raises JsValueError when
    the value is there but is not one of the forms read here."""
    if len(body) > MAX_CHARS:
        raise JsValueError(f"page larger than {MAX_CHARS} characters")
    start = _assignment(body, name)
    if start is None:
        return None
    reader = _Reader(body, start)
    c = reader.peek()
    try:
        if c == "{" or c == "[":
            try:
                value, _ = json.JSONDecoder().raw_decode(body, reader.pos)
                return value, "json"
            except json.JSONDecodeError:
                return reader.value({}), "literal"
        if c in "\"'":
            return json.loads(reader.string()), "string"
        if c == "(":
            return reader.call(), "function"
    except (json.JSONDecodeError, IndexError, ValueError) as exc:
        if isinstance(exc, JsValueError):
            raise
        raise JsValueError(f"{name}: {exc}") from exc
    raise JsValueError(f"{name} is assigned something else: {body[start:start + 30]!r}")
