"""Markdown -> safe HTML for Instructions and seller responses (email + order page).

Two layers on purpose: Markdown never emits the seller's raw HTML (it is escaped
and shown as text, as the product promises "Responses cannot include HTML"), and
nh3 then removes anything outside a small allowlist, so a Markdown quirk can never
smuggle a script or an event handler into a customer's inbox.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import markdown
import nh3

# Every tag here is something Markdown itself produces for simple formatting.
ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p",  # paragraphs
        "br",  # nl2br: a seller's line breaks (license blocks) stay line breaks
        "strong",  # **bold**
        "em",  # *emphasis*
        "b",  # bold from other Markdown flavours
        "i",  # italics from other Markdown flavours
        "code",  # `license-key` inline, the most common way to show a code
        "pre",  # fenced code blocks for multi-line keys or commands
        "ul",  # bullet lists (activation steps)
        "ol",  # numbered lists (activation steps)
        "li",  # list items
        "blockquote",  # > quoted notes
        "h1",  # headings: sellers structure longer instructions
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "a",  # links to downloads and docs ("Markdown ... links" in the product)
        "hr",  # --- separators between sections
    }
)
# Links keep only where they go and their tooltip; no styles, no event handlers.
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"a": {"href", "title"}}
# No javascript:, data: or other schemes that run code or hide content.
URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})
# Seller links are third-party: no SEO endorsement, no window.opener, no referrer.
LINK_REL = "nofollow noopener noreferrer"

_EXTENSIONS = ["nl2br", "sane_lists", "fenced_code"]

# C0 controls (but tab, line feed and carriage return), DEL and C1 controls: no
# license needs them, and browsers and mail clients treat them inconsistently
# inside URLs. Removing them first means "java\0script:" reaches nh3 as the
# "javascript:" it spells, and is judged (and dropped) as such.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _markdown_without_html() -> markdown.Markdown:
    # Deregistering both raw-HTML hooks makes Markdown escape '<' and '&' in the
    # source, so "<b>hi</b>" arrives as the visible text "<b>hi</b>".
    md = markdown.Markdown(extensions=_EXTENSIONS)
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return md


_local = threading.local()


def _converter() -> markdown.Markdown:
    # Building a Markdown instance loads its extensions (about 0.75 ms, a
    # measurable share of an email worker's time); one per thread, reset
    # between documents, as Markdown's documentation recommends.
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = _markdown_without_html()
    return md.reset()


# Texts longer than this are rendered every time instead of being kept.
CACHED_TEXT_CHARS = 16_384


def render_markdown_shared(text: str) -> str:
    """`render_markdown` of a text that is the same for many emails, such as a
    product's Instructions: rendered once per process and kept (the rendering is
    a pure function of the text, so an edited text is simply another entry)."""
    if len(text) > CACHED_TEXT_CHARS:
        return render_markdown(text)
    return _render_markdown_cached(text)


@lru_cache(maxsize=512)
def _render_markdown_cached(text: str) -> str:
    return render_markdown(text)


_BACKTICK_RUNS = re.compile(r"`+")


def markdown_code(text: str) -> str:
    """`text` as a Markdown code span: shown exactly as written, in the HTML
    part as code and in the text part between backticks (a license key from a
    list is a literal, never formatting)."""
    longest = max((len(run) for run in _BACKTICK_RUNS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render_markdown(text: str) -> str:
    """Seller Markdown as HTML that is safe to show to customers."""
    html = _converter().convert(_CONTROL_CHARS.sub("", text or ""))
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
    )
