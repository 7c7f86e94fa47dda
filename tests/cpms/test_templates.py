"""Every template as Django reads it: no template syntax left in the text a page prints (issue 18, finding 1).

Django reads `{# ... #}` only on one line: a comment over several lines is printed as text, under "Partners" on
every case page. The lexer's text tokens are what the page prints, so none may hold `{#`, `{%` or `{{`."""

from pathlib import Path

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType

ROOT = Path(settings.BASE_DIR)
TEMPLATES = sorted(p for d in ("templates", "cpms", "icts") for p in (ROOT / d).rglob("*.html"))
SYNTAX = ("{#", "{%", "{{")


def printed_syntax(source: str) -> list[str]:
    """Each line of printed text that holds template syntax (the lexer's TEXT tokens are printed as they are)."""
    found = []
    for token in Lexer(source).tokenize():
        if token.token_type is TokenType.TEXT and any(s in token.contents for s in SYNTAX):
            found += [line.strip() for line in token.contents.splitlines() if any(s in line for s in SYNTAX)]
    return found


def test_printed_syntax_finds_a_comment_over_two_lines():
    assert printed_syntax("a {# one line #} b") == []
    assert printed_syntax("a {# first\n second #} b") == ["a {# first"]


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_template_prints_no_template_syntax(path):
    assert printed_syntax(path.read_text(encoding="utf-8")) == []
