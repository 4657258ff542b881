"""Text from the server or from files, made safe to show on a terminal.

A face or group name is whatever someone typed into the cloud: it may hold ``ESC]0;...BEL``
(retitles the window), ``ESC[2J`` (clears the screen), C1 controls, NUL, a newline that
splits a table row, or bidi overrides (U+202E) that make text read backwards. Every output
path of the CLI passes such text through :func:`safe_text`, which replaces each control or
format character by a visible escape (``\\x1b``, ``\\u202e``), or :func:`safe_json`, which
writes the same characters as JSON ``\\uXXXX`` escapes (the decoded value stays exact).
"""

from __future__ import annotations

import json
import traceback
import unicodedata
from typing import Any

__all__ = ["escape_json_text", "is_unsafe", "safe_json", "safe_text", "safe_traceback"]

# Control (Cc: C0, DEL, C1), format (Cf: bidi controls, zero-width, BOM, tags) and the
# Unicode line and paragraph separators. ZWJ/ZWNJ stay: emoji and several scripts need them,
# and they cannot steer a terminal or reorder text.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
_KEEP = frozenset({"\u200c", "\u200d"})


def is_unsafe(char: str) -> bool:
    """Whether ``char`` (one character) could steer a terminal or disguise text."""
    return char not in _KEEP and unicodedata.category(char) in _UNSAFE_CATEGORIES


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def safe_text(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every unsafe character shown as its escape; ``keep_newlines`` keeps "\\n".

    Only the CLI's own multi-line messages keep newlines; table cells and quoted values do not.
    """
    if text.isprintable():  # the common case: nothing to do
        return text
    return "".join(
        _visible(c) if is_unsafe(c) and not (keep_newlines and c == "\n") else c for c in text
    )


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # a UTF-16 surrogate pair, as JSON spells characters beyond the BMP
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def safe_json(data: Any) -> str:
    """``json.dumps`` that keeps non-ASCII text readable but escapes the unsafe characters.

    C0 controls are escaped by ``json`` itself; DEL, C1 and the format characters are escaped
    here as ``\\uXXXX``, so a terminal never sees them and a JSON parser reads the exact value.
    """
    return escape_json_text(json.dumps(data, ensure_ascii=False, default=str))


def escape_json_text(text: str) -> str:
    """Already serialised JSON (one document, or JSON Lines) with the unsafe characters escaped.

    ``json`` escapes C0 inside strings, so a newline left is a line break between documents
    and stays; outside strings JSON is plain ASCII, so every other unsafe character is inside
    a string, where ``\\uXXXX`` means the same character.
    """
    if text.isprintable():
        return text
    return "".join(_json_escape(c) if is_unsafe(c) and c != "\n" else c for c in text)


def safe_traceback(exc: BaseException) -> str:
    """``exc``'s traceback with every message escaped (a newline in one shown as ``\\n``).

    The frames are this package's source; the messages (the exceptions' ``str``, chained ones
    and notes included) may quote the server, so each is passed through :func:`safe_text`
    before the lines are put together, and the whole once more, keeping only line breaks.
    """
    top = traceback.TracebackException.from_exception(exc)
    pending, seen = [top], set()
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        item._str = safe_text(str(getattr(item, "_str", "")))  # type: ignore[attr-defined]
        notes = getattr(item, "__notes__", None)
        if notes:
            item.__notes__ = [safe_text(str(note)) for note in notes]  # type: ignore[attr-defined]
        pending.extend(n for n in (item.__cause__, item.__context__) if n is not None)
        pending.extend(getattr(item, "exceptions", None) or ())
    return safe_text("".join(top.format()), keep_newlines=True)
