"""Docker's word rules for Dockerfile arguments: quoting, escapes and `$VAR` / `${VAR}` substitution.

Two steps, as in moby's `shell.Lex` and `parseWords`:

- `split_words` splits an argument string at unquoted whitespace and keeps quotes and escapes in each word (so
  `ENV A="x y" B=z` gives `A="x y"` and `B=z`);
- `process_word` expands variables and removes quotes: `'...'` is literal; inside `"..."` a backslash escapes
  only `"`, `\\`, `$`; outside quotes a backslash escapes any character; `$NAME`, `${NAME}`, `${NAME:-word}`,
  `${NAME-word}`, `${NAME:+word}`, `${NAME+word}`, `${NAME:?msg}` and `${NAME?msg}` behave as in a POSIX shell
  (an unset variable is the empty string). The `word` parts are processed recursively.

Errors (an unterminated quote, a bad `${...}`, a `?` on an unset variable) raise `WordError`; the Dockerfile
parser turns it into a `BuildError` naming the line.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["WordError", "process_word", "process_words", "split_words"]


class WordError(ValueError):
    """A word that cannot be processed; the message says why."""


def split_words(text: str) -> list[str]:
    """Split at unquoted, unescaped whitespace; quotes and escapes stay in the words."""
    words: list[str] = []
    current: list[str] = []
    quote = ""
    in_word = False
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            current.append(c)
            if c == "\\" and quote == '"' and i + 1 < len(text):
                current.append(text[i + 1])
                i += 1
            elif c == quote:
                quote = ""
        elif c.isspace():
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        else:
            in_word = True
            current.append(c)
            if c in "'\"":
                quote = c
            elif c == "\\" and i + 1 < len(text):
                current.append(text[i + 1])
                i += 1
        i += 1
    if in_word:
        words.append("".join(current))
    return words


def process_words(text: str, env: Mapping[str, str]) -> list[str]:
    """Split, then expand and unquote each word."""
    return [process_word(w, env) for w in split_words(text)]


def process_word(word: str, env: Mapping[str, str]) -> str:
    """Expand variables and remove quotes and escapes, as Docker does for ENV, COPY, WORKDIR, ... arguments."""
    out, end = _process(word, 0, env, stop="")
    assert end == len(word)
    return out


def _process(text: str, i: int, env: Mapping[str, str], *, stop: str) -> tuple[str, int]:
    out: list[str] = []
    while i < len(text):
        c = text[i]
        if stop and c == stop:
            return "".join(out), i
        if c == "'":
            end = text.find("'", i + 1)
            if end == -1:
                raise WordError(f"unterminated single quote in {text!r}")
            out.append(text[i + 1 : end])
            i = end + 1
        elif c == '"':
            i = _double_quoted(text, i + 1, env, out)
        elif c == "\\":
            if i + 1 < len(text):
                out.append(text[i + 1])
                i += 2
            else:
                out.append(c)
                i += 1
        elif c == "$":
            value, i = _variable(text, i + 1, env)
            out.append(value)
        else:
            out.append(c)
            i += 1
    if stop:
        raise WordError(f"missing '{stop}' in {text!r}")
    return "".join(out), i


def _double_quoted(text: str, i: int, env: Mapping[str, str], out: list[str]) -> int:
    while i < len(text):
        c = text[i]
        if c == '"':
            return i + 1
        if c == "\\" and i + 1 < len(text) and text[i + 1] in '"\\$':
            out.append(text[i + 1])
            i += 2
        elif c == "$":
            value, i = _variable(text, i + 1, env)
            out.append(value)
        else:
            out.append(c)
            i += 1
    raise WordError(f"unterminated double quote in {text!r}")


def _is_name_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def _variable(text: str, i: int, env: Mapping[str, str]) -> tuple[str, int]:
    """Expand the variable starting after a `$` at text[i]; returns (value, index after it)."""
    if i >= len(text):
        return "$", i
    if text[i] != "{":
        start = i
        while i < len(text) and _is_name_char(text[i]):
            i += 1
        if i == start:
            return "$", start
        return env.get(text[start:i], ""), i
    start = i + 1
    i = start
    while i < len(text) and _is_name_char(text[i]):
        i += 1
    name = text[start:i]
    if not name:
        raise WordError(f"bad substitution in {text!r}: missing variable name after '${{'")
    if i >= len(text):
        raise WordError(f"missing '}}' in {text!r}")
    if text[i] == "}":
        return env.get(name, ""), i + 1
    colon = text[i] == ":"
    op_at = i + 1 if colon else i
    if op_at >= len(text) or text[op_at] not in "-+?":
        raise WordError(f"bad substitution in {text!r}: unsupported modifier after ${{{name}")
    op = text[op_at]
    word, end = _process(text, op_at + 1, env, stop="}")
    value = env.get(name)
    is_set = value is not None and (value != "" or not colon)
    if op == "-":
        return (value if is_set and value is not None else word), end + 1
    if op == "+":
        return (word if is_set else ""), end + 1
    if not is_set:
        raise WordError(f"{name}: {word or 'is not set'}")
    return value or "", end + 1
