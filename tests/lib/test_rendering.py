from __future__ import annotations

import pytest
from django.template import Context, Template

from lib.rendering import render_markdown

# The same attacks arrive from two places: the seller's Instructions (typed in the
# editor) and the seller server's response (the license text).
INSTRUCTIONS = "Open **Settings** and paste your key.\n\n{attack}\n\nThanks!"
RESPONSE = "LICENSE-1234-ABCD\n{attack}"
SOURCES = pytest.mark.parametrize(
    "template", [INSTRUCTIONS, RESPONSE], ids=["instructions", "response"]
)


@SOURCES
def test_raw_html_is_shown_as_text_not_interpreted(template):
    html = render_markdown(template.format(attack="<b>bold?</b> <div>box</div>"))

    assert "<b>" not in html
    assert "<div>" not in html
    assert "&lt;b&gt;bold?&lt;/b&gt;" in html
    assert "&lt;div&gt;box&lt;/div&gt;" in html


@SOURCES
def test_script_tag_is_escaped_text(template):
    html = render_markdown(template.format(attack="<script>alert('x')</script>"))

    assert "<script" not in html
    assert "&lt;script&gt;alert" in html


@SOURCES
def test_script_block_on_its_own_lines_is_escaped_text(template):
    html = render_markdown(template.format(attack="<script>\nalert(1)\n</script>"))

    assert "<script" not in html
    assert "&lt;script&gt;" in html


@SOURCES
def test_javascript_markdown_link_loses_its_href_but_keeps_its_text(template):
    html = render_markdown(template.format(attack="[Download](javascript:alert(1))"))

    assert "javascript:" not in html
    assert ">Download</a>" in html


@SOURCES
def test_raw_javascript_anchor_is_escaped_text(template):
    html = render_markdown(
        template.format(attack='<a href="javascript:alert(1)">x</a>')
    )

    assert "<a href" not in html
    assert "&lt;a href=" in html


@SOURCES
def test_onerror_attribute_never_becomes_an_element(template):
    html = render_markdown(template.format(attack="<img src=x onerror=alert(1)>"))

    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


@SOURCES
def test_markdown_image_is_dropped_not_loaded(template):
    # Images are not allowed: a remote image in an email tracks the customer.
    html = render_markdown(template.format(attack="![pixel](https://t.example/p.gif)"))

    assert "<img" not in html


@pytest.mark.parametrize(
    ("template", "harmless"),
    [
        (INSTRUCTIONS, "Open <strong>Settings</strong> and paste your key."),
        (RESPONSE, "LICENSE-1234-ABCD<br>"),
    ],
    ids=["instructions", "response"],
)
def test_harmless_text_around_an_attack_survives(template, harmless):
    html = render_markdown(template.format(attack="<script>x</script>"))

    assert harmless in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_simple_markdown_becomes_formatting():
    html = render_markdown("# Setup\n\n1. Open the app\n2. Paste `KEY-1`\n\n**Done**")

    assert "<h1>Setup</h1>" in html
    assert "<ol>" in html
    assert "<code>KEY-1</code>" in html
    assert "<strong>Done</strong>" in html


def test_single_newlines_become_line_breaks():
    assert "<br>" in render_markdown("KEY-1\nKEY-2")


def test_fenced_code_block_is_kept():
    html = render_markdown("```\nAAAA-BBBB\nCCCC-DDDD\n```")

    assert "<pre><code>AAAA-BBBB\nCCCC-DDDD\n</code></pre>" in html


def test_https_link_gets_safe_rel():
    html = render_markdown("[Docs](https://example.com/docs)")

    assert 'href="https://example.com/docs"' in html
    assert 'rel="nofollow noopener noreferrer"' in html


def test_mailto_link_is_kept():
    assert 'href="mailto:help@example.com"' in render_markdown(
        "[Mail us](mailto:help@example.com)"
    )


def test_ampersands_and_angle_brackets_in_a_license_stay_visible():
    html = render_markdown("KEY<1>&2")

    assert "KEY&lt;1&gt;&amp;2" in html


def test_empty_text_renders_empty():
    assert render_markdown("") == ""


def test_markdown_filter_renders_and_marks_safe():
    template = Template("{% load rendering %}{{ text|markdown }}")

    html = template.render(Context({"text": "**key** <script>x</script>"}))

    assert "<strong>key</strong>" in html
    assert "&lt;script&gt;" in html
    assert "&amp;lt;" not in html


@SOURCES
def test_control_characters_cannot_hide_a_javascript_scheme(template):
    html = render_markdown(template.format(attack="[Go](java\x00script:alert(1))"))

    assert "script:" not in html
    assert "\x00" not in html
    assert "\ufffd" not in html
    assert ">Go</a>" in html


def test_control_characters_are_dropped_but_line_breaks_kept():
    html = render_markdown("KEY\x07-1\x1b\r\nKEY-2\x7f")

    assert "KEY-1<br>" in html
    assert "KEY-2" in html


@SOURCES
def test_markdown_image_keeps_no_element_and_no_url(template):
    html = render_markdown(template.format(attack="![x](javascript:alert(1))"))

    assert "<img" not in html
    assert "javascript:" not in html


def test_shared_rendering_matches_and_follows_an_edited_text():
    from lib.rendering import CACHED_TEXT_CHARS, render_markdown_shared

    first = "Open **Settings** <script>x</script>"
    edited = "Open **Preferences**"
    long_text = "*a* " * (CACHED_TEXT_CHARS // 4 + 1)

    assert render_markdown_shared(first) == render_markdown(first)
    assert render_markdown_shared(first) == render_markdown(first)  # kept
    assert "<strong>Preferences</strong>" in render_markdown_shared(edited)
    assert "<script" not in render_markdown_shared(first)
    assert render_markdown_shared(long_text) == render_markdown(long_text)
