"""Text from recipes and result files as Markdown that renders as that text: one rule for the report, the viewer
and the model card (a name like ``![x](http://host/x.png)`` must never become a remote image or raw HTML)."""
from __future__ import annotations

import json
import re

# Characters that start Markdown syntax anywhere in a line (emphasis, code, links and images, raw HTML and entities,
# tables, strikethrough, Streamlit's math and directives); backslash-escaped, they render as themselves.
_MD_SPECIAL = frozenset("\\`*_[]<>!|#~$&{}")
# Text that GitHub or Streamlit would turn into a link or an emoji/icon whatever its escapes: shown as code instead.
_MD_AUTOLINK = re.compile(r"://|www\.|@|:[^:\s]*:", re.IGNORECASE)


def md_literal(text: object, table: bool = False) -> str:
    """``text`` as Markdown that renders exactly as the text: no emphasis, link, image, HTML, emoji or math.

    Strings from result files and paths (task, language and encoder names, recipe values, error messages) go through
    this wherever Markdown is rendered (Streamlit messages and captions, the report's tables), because a name like
    ``![x](http://host/x.png)`` would otherwise load a remote image. Plain names come back unchanged; other text is
    backslash-escaped, or put in a code span where an escape cannot stop a link or emoji. Non-printable characters
    are shown as their Python escapes.

    Args:
        text: Any value; shown as ``str(text)``.
        table: The result goes into a table cell (a ``|`` must then be escaped even inside a code span).
    """
    text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))
    if _MD_AUTOLINK.search(text):
        longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
        fence = "`" * (longest + 1)
        body = text.replace("|", "\\|") if table else text
        pad = " " if body[:1] in ("`", " ") or body[-1:] in ("`", " ") else ""
        return f"{fence}{pad}{body}{pad}{fence}"
    out = "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in text)
    # At the start of a block, "- x", "+ x" and "---" would become a list or a rule, "1. x" a numbered list.
    out = re.sub(r"^[-+]", lambda m: "\\" + m.group(0), out)
    return re.sub(r"^(\d+)([.)])(?=\s|$)", r"\1\\\2", out)


def fenced(body: str, info: str = "") -> str:
    """``body`` as a fenced code block whose fence is longer than any run of backticks inside it, so nothing in
    the body (a recipe value holding three backticks) can close the block early and be rendered as Markdown."""
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body.rstrip()}\n{fence}"


_PLAIN_YAML = re.compile(r"[A-Za-z0-9][\w./-]*")


def yaml_scalar(value: object) -> str:
    """A value for YAML front matter: plain where it is a plain name (``en``, ``owner/model-1.0``), else quoted
    (JSON strings are YAML), so no newline, ``#``, ``:`` or leading sign changes its meaning."""
    text = str(value)
    return text if _PLAIN_YAML.fullmatch(text) and text.lower() not in _YAML_WORDS else json.dumps(text,
                                                                                                  ensure_ascii=False)


_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}  # plain, these would not be strings


def py_string(value: object) -> str:
    """A Python string literal of ``value`` for a code snippet (quotes and backslashes escaped)."""
    return json.dumps(str(value), ensure_ascii=False)
