"""Hexo posts whose body is Markdown: read as Markdown, not stored raw.

A body with block tags and no Markdown syntax is HTML and goes as it is (the seed goldens
cover that); any other body is Markdown, and a bridge's bare text, one paragraph a line,
must read as it did before Markdown: one ``<p>`` per non-empty line.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.parsers import detect, markdown, parse

URL = "https://mirror.example/posts/2022/1.html"


def post(body: str, *, head: str = "") -> bytes:
    return f"---\ntitle: '标题'\n{head}---\n\n{body}\n".encode()


def one(data: bytes, **kw):
    (item,) = parse(data, **kw)
    return item


def one_paragraph_per_line(body: str) -> str:
    """How bodies without block tags were read before Markdown."""
    return "".join(f"<p>{line.strip()}</p>" for line in body.splitlines() if line.strip())


# --- bare text: the same Item as before ------------------------------------------------

BARE_BODIES = {
    "chinese-lines": (
        "乌克兰东部顿巴斯地区周四爆发炮击，双方互相指责对方违反停火协议。\n\n"
        "北约秘书长表示俄罗斯仍在增兵。\n乌克兰军方称一所幼儿园被击中。\n"
    ),
    "ampersands": "北约秘书长表示 & 俄罗斯仍在增兵。\nAT&T 与 &amp; 以及 &nbsp;空格 &copy; 版权",
    "less-than": "价格 < 100元，涨幅<5%\n<独家>消息",
    # One asterisk alone in its paragraph opens nothing: it stays.
    "stray-asterisk": "5 * 3 = 15\n*注：本文有删节",
    # A year opens no ordered list (CommonMark would let it: "2022." would be lost), and a
    # hashtag is no heading (an ATX heading needs a space after its "#").
    "year-and-hashtag": "2022. 新年献词\n#MeToo运动\n1949年10月1日",
    "year-first-line": "2022) 回顾\n\n1989. 年表",
    # Indentation is a paragraph's, never an indented code block.
    "indented": "    缩进的段落一。\n\n\t缩进的段落二。\n\u3000\u3000全角缩进的段落三。",
    "trailing-spaces": "行末两个空格  \n下一行",
    "inline-tags": "<b>粗</b>正文<i>斜\n体</i>续",
    "underscores-and-urls": "https://example.com/a_b_c 网址\nsnake_case_name 与 a*b",
    "brackets": "[1] 注释\n[注释] 说明\n【文/记者】“引号”",
    "latin-spacing": "拜登 说 Vladimir Putin 会 \nEnglish text here",
    "quotes-and-spaces": '他说"不" 与 a > b\n\u00a0不间断空格开头\n\u3000全角空格 a\u3000b',
}


@pytest.fixture(params=["as-found", "always-rendered"])
def rendering(request, monkeypatch):
    """Bodies with no character Markdown reads skip the renderer; ``always-rendered``
    holds the renderer to the same result."""
    if request.param == "always-rendered":
        monkeypatch.setattr(markdown, "_MARKUP", re.compile(""))


@pytest.mark.parametrize("body", BARE_BODIES.values(), ids=BARE_BODIES.keys())
def test_bare_text_body_reads_as_one_paragraph_per_line(body: str, rendering):
    """The Item, stored HTML included, is the one its old one-``<p>``-per-line reading gave."""
    as_paragraphs = post(one_paragraph_per_line(body))
    assert one(post(body), url=URL).to_dict() == one(as_paragraphs, url=URL).to_dict()


def test_consecutive_markdown_lines_stay_separate_paragraphs():
    """Bridges write one paragraph a line with no blank line between."""
    item = one(post("**拜登**与普京通话。\n双方互发警告。\n\n白宫发表声明。"))
    assert item.text.split("\n") == ["拜登与普京通话。", "双方互发警告。", "白宫发表声明。"]
    assert item.html == (
        "<p><strong>拜登</strong>与普京通话。</p><p>双方互发警告。</p><p>白宫发表声明。</p>"
    )
    assert item.summary == "拜登与普京通话。双方互发警告。白宫发表声明。"


def test_line_break_inside_markup_or_list_item_is_a_line_break():
    item = one(post("**拜登\n普京**通话\n\n- 第一项\n  续行"))
    assert item.text.split("\n") == ["拜登", "普京通话", "第一项", "续行"]
    assert "<strong>拜登<br>普京</strong>" in item.html
    assert "<li>第一项<br>续行</li>" in item.html


def test_asterisks_that_pair_are_emphasis_even_across_lines():
    """A decided reading of bare text: Markdown's. Two asterisks in one paragraph are
    emphasis, so the text loses them (and keeps its lines)."""
    item = one(post("*注：本文有删节\n星号*在中间"))
    assert item.text.split("\n") == ["注：本文有删节", "星号在中间"]
    assert "<em>注：本文有删节<br>星号</em>" in item.html


@pytest.mark.parametrize(
    "doc",
    [post("第一段。{}第二段。"), "# 标题\n\n第一段。{}第二段。\n".encode()],
    ids=["hexo", "markdown-page"],
)
@pytest.mark.parametrize("blank", ["\n", " \n", "\u3000\n"], ids=["empty", "space", "ideographic"])
def test_a_body_with_a_hundred_thousand_blank_lines_is_read_at_once(doc: bytes, blank: str):
    """The look for Markdown syntax at each line's start ran on through the blank lines
    after it: minutes for such a body. Counted, not timed: each line is read once."""
    data = doc.replace(b"{}", blank.encode() * 100_000)
    assert one(data).text == "第一段。\n第二段。"


def test_text_that_looked_like_a_tag_is_kept():
    """The HTML parser read ``<b 和 c>`` as a tag and lost the words; Markdown escapes
    what is not a well-formed tag."""
    item = one(post("a<b 和 c>d\n比较 x<y 与 y>z"))
    assert item.text.split("\n") == ["a<b和c>d", "比较x<y与y>z"]
    assert "<b" not in item.html


# --- Markdown markup ---------------------------------------------------------------------

MARKUP = {
    "bold-italic": ("**粗体**与*斜体*，__粗__ _斜_", ["粗体与斜体，粗斜"]),
    "heading": ("## 小标题\n正文第一段。", ["小标题", "正文第一段。"]),
    "setext-heading": ("大标题\n===\n正文。", ["大标题", "正文。"]),
    "bullets": ("- 列表一\n- 列表二\n* 列表三", ["列表一", "列表二", "列表三"]),
    "ordered": ("1. 第一\n2. 第二", ["第一", "第二"]),
    "quote": ("> 引用一\n> 引用二\n\n正文。", ["引用一", "引用二", "正文。"]),
    "table": ("| 国家 | 人数 |\n|:---|---:|\n| 乌克兰 | 100 |", ["国家人数", "乌克兰100"]),
    "strikethrough": ("~~删除~~保留", ["删除保留"]),
    "code-fence": ("```\nx = 1\n```\n正文。", ["x = 1", "正文。"]),
    "escapes": (r"\*不是斜体\* 与 1\. 不是列表", ["*不是斜体*与1.不是列表"]),
    "rule": ("上文\n\n***\n\n下文", ["上文", "下文"]),
}


@pytest.mark.parametrize(("body", "lines"), MARKUP.values(), ids=MARKUP.keys())
def test_markdown_markup_is_not_in_the_text(body: str, lines: list[str], rendering):
    assert one(post(body)).text.split("\n") == lines


CJK_EMPHASIS = {
    "quoted-bold": ("**“拜登”**表示反对。", "<strong>“拜登”</strong>表示反对。"),
    "bold-quote-after-text": ("他说**“不”**。", "他说<strong>“不”</strong>。"),
    "brackets": ("**拜登（Joe Biden）**表示", "<strong>拜登（Joe Biden）</strong>表示"),
    "italic": ("是*《纽约时报》*报道", "是<em>《纽约时报》</em>报道"),
    "strikethrough": ("~~“删除”~~保留", "<s>“删除”</s>保留"),
    "full-width-before-latin": ("**（注）**see below", "<strong>（注）</strong>see below"),
    "latin-before-full-width": ("see**《纽约时报》**", "see<strong>《纽约时报》</strong>"),
    # Without a Chinese character beside the run, CommonMark's rule stands.
    "latin": ('he said**"no"**again', 'he said**"no"**again'),
}


@pytest.mark.parametrize(("body", "html"), CJK_EMPHASIS.values(), ids=CJK_EMPHASIS.keys())
def test_emphasis_beside_chinese_punctuation_is_read(body: str, html: str):
    """CommonMark will not close ``**`` after punctuation when a letter follows, which
    leaves ``**“拜登”**表示`` raw; Chinese puts no space there."""
    item = one(post(body))
    assert item.html == f"<p>{html}</p>"
    assert item.text == re.sub("<[^>]+>", "", html)


def test_markdown_structure_reaches_the_stored_html():
    body = "## 小标题\n\n- 一\n- 二\n\n> 引用\n\n| 甲 | 乙 |\n|---|---|\n| 1 | 2 |\n\n~~删~~"
    html = one(post(body)).html
    for tag in ("<h2>", "<ul><li>", "<blockquote><p>", "<table><thead>", "<td>", "<s>"):
        assert tag in html
    assert "|" not in html and "~~" not in html and "##" not in html


def test_markdown_links_become_links_resolved_against_the_document_url():
    body = "见[原文](/a/b.html)与[外链](https://e.com/x?a=1&b=2 '题')和<https://e.com/auto>。"
    item = one(post(body), url=URL)
    assert item.text == "见原文与外链和https://e.com/auto。"
    assert '<a href="https://mirror.example/a/b.html"' in item.html
    assert '<a href="https://e.com/x?a=1&amp;b=2" title="题"' in item.html
    assert '<a href="https://e.com/auto"' in item.html


def test_markdown_images_are_collected_with_absolute_urls():
    body = (
        '![图一](https://img.example.com/a.jpg)\n正文。\n\n![图二](../img/b.jpg "说明")\n'
        "![重复](https://img.example.com/a.jpg)"
    )
    item = one(post(body, head="headimg: 'https://img.example.com/head.jpg'\n"), url=URL)
    assert [i.url for i in item.images] == [
        "https://img.example.com/head.jpg",
        "https://img.example.com/a.jpg",
        "https://mirror.example/posts/img/b.jpg",
    ]
    assert item.text == "正文。"
    assert '<img src="https://mirror.example/posts/img/b.jpg" alt="图二" title="说明">' in item.html


def test_markdown_with_html_blocks_mixed_in_is_read_as_markdown():
    """One ``<div>`` (a centred image, as archive repositories write them) made the whole
    body HTML: the Markdown stayed in the text as written, its lines run together."""
    body = (
        "# 普京宣布“特别军事行动”\n\n**“我们别无选择”**，普京说。\n\n"
        '<div align="center"><img src="/img/a.png"></div>\n\n'
        "![讲话](https://e.com/p.jpg)\n\n- 第一点：制裁\n- 第二点：援助<br>详见下文\n\n"
        "据[路透社](https://www.reuters.com/)报道。"
    )
    item = one(post(body), url=URL)
    assert item.text.split("\n") == [
        "普京宣布“特别军事行动”",
        "“我们别无选择”，普京说。",
        "第一点：制裁",
        "第二点：援助",
        "详见下文",
        "据路透社报道。",
    ]
    for tag in ("<h1>", "<strong>", "<li>", '<a href="https://www.reuters.com/"'):
        assert tag in item.html
    assert [i.url for i in item.images] == [
        "https://mirror.example/img/a.png",
        "https://e.com/p.jpg",
    ]


def test_raw_inline_html_in_markdown_is_kept():
    item = one(post('<b>粗</b>正文与**粗体**，<span lang="en">English</span>'))
    assert item.html == (
        '<p><b>粗</b>正文与<strong>粗体</strong>，<span lang="en">English</span></p>'
    )
    assert item.text == "粗正文与粗体，English"


def test_script_in_a_markdown_body_reaches_neither_html_nor_text():
    """Raw HTML passes the Markdown renderer as written; the sanitizer drops it."""
    body = (
        "**正文**开始\n\n<script>alert('block')</script>\n\n"
        '中间<script>alert(\'inline\')</script>继续 <img src="x.jpg" onerror="alert(1)">\n\n'
        '<a href="javascript:alert(2)">链接</a>与[链接](javascript:alert(3))\n\n'
        '<style>p{color:red}</style><iframe src="https://evil.example/"></iframe>结尾'
    )
    item = one(post(body), url=URL)
    assert "<strong>正文</strong>" in item.html
    for bad in ("<script", "alert('", "onerror", 'href="javascript', "<iframe", "<style", "color:"):
        assert bad not in item.html
    assert "alert('" not in item.text and "color:" not in item.text
    assert "[链接](javascript:alert(3))" in item.text  # not made a link: left as written
    assert item.text.split("\n")[:2] == ["正文开始", "中间继续"]


# --- format detection ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "[原文链接](https://e.com/a)\n正文第一段。",
        "[原文链接](https://e.com/a)\n\n正文第一段。",
        "[原文链接](https://e.com/a)\n\n---\n\n正文第一段。",
    ],
    ids=["next-line", "blank-line", "blank-line-then-rule"],
)
def test_hexo_post_starting_with_a_markdown_link_line_is_hexo(body: str):
    """Feed archives open with a ``[title](url)`` line too, but underlined by dashes."""
    data = post(body)
    assert detect(data) == "hexo"
    item = one(data)
    # The line names the original, as it would at the end of the body.
    assert (item.title, item.url, item.format) == ("标题", "https://e.com/a", "hexo")
    assert item.text == "正文第一段。"
    assert "e.com/a" not in item.html


def test_link_line_underlined_by_dashes_under_front_matter_stays_feed_archive():
    """The bridge's dump with a Jekyll header: dashes right under the link line."""
    data = post("[美俄会谈无突破](https://e.com/a)\n------\n\n<p>正文。</p>")
    assert detect(data) == "feed-archive"
    item = one(data)
    assert (item.title, item.url, item.text) == ("美俄会谈无突破", "https://e.com/a", "正文。")


def test_markdown_renderer_is_loaded_by_the_first_markdown_body_only():
    """Importing markdown-it is a seventh of the parsers' start-up: HTML bodies skip it."""
    seed = next((Path(__file__).resolve().parent.parent / "seeds").glob("001_*.txt"))
    markdown_post = "---\ntitle: t\n---\n**粗体**\n".encode()
    code = (
        "import sys; from monitor.parsers import parse\n"
        f"parse(open({str(seed)!r}, 'rb').read()); print('markdown_it' in sys.modules)\n"
        f"parse({markdown_post!r}); print('markdown_it' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
