"""The 大纪元 mirror pages: a markdown shell (title, rule, nav line, footer) around HTML.

The shell varies between mirror generations (footer wording, rule length, relative or
absolute nav links, injected ad lines), so each part is found by its own pattern rather
than by position. The article body is the ``post_content`` div when present, which keeps
anything injected around it out of the text.
"""

from __future__ import annotations

import re
from html import unescape

from lxml import etree

from monitor.models import Image, Item, NotAnArticle, ParseError
from monitor.parsers import dates
from monitor.parsers.html import (
    clean_html,
    dedupe_images,
    drop_tree,
    fragment,
    html_to_text,
    images_in,
    summarize,
    text_content,
)
from monitor.text import detect_lang

FORMAT = "epoch-mirror"
SITE = "大纪元"

# A heading line's opening; the title after it is cut by :func:`title_of`. One pattern
# for the whole line ("…(?P<title>.+?)\s*#*\s*$") backtracked on a run of spaces: a
# first line of "# a", 3,000 spaces and "b" took 40 s to detect.
_TITLE_START = re.compile(r"#{1,4}\s+")
RULE = re.compile(r"^\s*-{3,}\s*$")
# A link's text holds no "[": from each "[" of a line of them, "[^\]]*" read on to the
# next "]", seconds for a line of 40,000.
MD_LINK = re.compile(r"\[([^\[\]]*)\]\(\s*([^)\s]+)\s*\)")
# Nav links carry the article id as a bare query: ../../../..?n13473224
ARTICLE_ID = re.compile(r"\?n\d+(?:$|[&#])")
# The indent is the line's own ("^\s*" ran on through the blank lines after each line).
FOOTER = re.compile(
    r"^[^\S\n]*原文(?:链接|鏈接|地址|網址|网址)[^：:\n]*[：:]\s*(?P<url>\S+)\s*$", re.M
)
URL_DATE = re.compile(r"/(\d{2}|\d{4})/(\d{1,2})/(\d{1,2})/n\d+")
DATELINE = re.compile(r"^\s*【[^】\n]{0,30}?[讯訊]】")
DATELINE_DATE = re.compile(r"【大[纪紀]元(\d{4})年(\d{1,2})月(\d{1,2})日[讯訊]】")
BYLINE = re.compile(
    r"（大[纪紀]元(?:[驻駐][^（）记記]{1,8})?(?:特约|特約|实习|實習)?[记記]者"
    r"(?P<name>[\u4e00-\u9fff·‧、 ]{2,12}?)"
    r"(?:编译|編譯|综合|綜合|采访|採訪|整理|报导|報導|报道|報道|$|）)"
)
EDITOR = re.compile(r"^\s*(?:责任编辑|責任編輯)[：:]")
SEPARATORS = re.compile(r"^[\s|｜—–\-·•/]*$")
AD_MARK = re.compile(
    r"(?:^|[\s_-])(?:ad|ads|advert\w*|adsbygoogle|gtx-trans|promo\w*)(?:$|[\s_-])", re.I
)
PLACEHOLDER = re.compile(
    r"(?:文章|页面|頁面|网页|內容|内容)(?:不存在|已被?删除|已下架|未找到)|找不到(?:该|此)?(?:文章|页面)"
    r"|\b404\b|not found",
    re.I,
)
BODY_XPATH = etree.XPath(
    "(.//*[contains(concat(' ', normalize-space(@class), ' '), ' post_content ')"
    " or @id='artbody' or @itemprop='articleBody'])[1]"
)
CAPTION_XPATH = etree.XPath(
    ".//*[contains(concat(' ', normalize-space(@class), ' '), ' caption ')]"
)


def shell_follows(lines: list[str], text: str) -> bool:
    """Whether the ``lines`` under a title and its rule, or the document's ``text``, hold
    what only the shell has: its nav line, whose links carry the article id, or the
    article's div. A Markdown article may open with a heading and a rule too."""
    for line in lines:
        if "?n" in line and any(ARTICLE_ID.search(href) for _t, href in MD_LINK.findall(line)):
            return True
    return any(mark in text for mark in ("post_content", "artbody", "articleBody"))


def title_of(line: str) -> str | None:
    """The title of a ``### title ###`` line (one to four "#"), else None: the text after
    the opening, without the spaces and "#"s closing it."""
    if (m := _TITLE_START.match(line)) is None:
        return None
    return line[m.end() :].rstrip().rstrip("#").rstrip() or None


def parse(text: str, *, url: str | None = None, site: str | None = None) -> Item:
    """``url`` (the mirror page's own address) only resolves relative image links; the
    article's URL is the footer's. ``site`` is ignored: this shell is one outlet's."""
    lines = text.splitlines()
    title_at = next((i for i, line in enumerate(lines) if line.strip()), None)
    heading = title_of(lines[title_at]) if title_at is not None else None
    if not heading:
        raise ParseError("epoch-mirror page without a '### title' first line")
    title = " ".join(unescape(heading).split())  # Markdown reads references

    footer = _footer(text)
    body_lines, nav = _middle(lines[title_at + 1 :])
    alt_urls = [nav] if nav else []
    root = fragment("\n".join(body_lines))

    lead = _lead_image(root, url)
    body = next(iter(BODY_XPATH(root)), None)
    if body is None:  # older generation: everything but the lead block and link lines
        body = root
        for el in list(root):
            if el.find(".//img") is not None and CAPTION_XPATH(el):
                drop_tree(el)
    _strip_noise(body)

    full_text = html_to_text(body)  # dateline and byline still at the top
    text_out = DATELINE.sub("", full_text, count=1).lstrip()
    text_out = "\n".join(ln for ln in text_out.split("\n") if not EDITOR.match(ln))
    if not text_out:
        raise NotAnArticle(f"epoch-mirror page {title!r} has no article body (only navigation)")
    if PLACEHOLDER.search(title) or (len(text_out) < 300 and PLACEHOLDER.search(text_out)):
        said = text_out.split("\n")[0][:60]
        raise NotAnArticle(f"epoch-mirror placeholder page {title!r}: {said!r}")

    byline = BYLINE.search(full_text[:200])
    images = dedupe_images(([lead] if lead else []) + images_in(body, base=url))
    return Item(
        title=title,
        format=FORMAT,
        url=footer,
        site=SITE,
        author=byline["name"].strip() if byline else None,
        published=_published(footer, full_text[:200]),
        summary=summarize(text_out),
        text=text_out,
        html=clean_html(body, base=url),
        images=images,
        lang=detect_lang(title + "\n" + text_out),
        alt_urls=alt_urls,
    )


def _footer(text: str) -> str | None:
    found = FOOTER.findall(text)
    if not found:
        return None
    value = found[-1]
    link = MD_LINK.search(value)
    return link[2] if link else value


def _middle(lines: list[str]) -> tuple[list[str], str | None]:
    """The HTML lines between the shell's header and footer, and the nav link with the id."""
    nav = None
    out: list[str] = []
    for line in lines:
        if "原文" in line and FOOTER.match(line):
            break
        links = MD_LINK.findall(line) if "](" in line else None
        if links and (_links_only(line) or line.lstrip().startswith("#")):
            if nav is None:
                nav = next((href for _, href in links if ARTICLE_ID.search(href)), None)
            continue  # nav and injected link lines are never body
        out.append(line)
    while out and (not out[-1].strip() or RULE.match(out[-1])):
        out.pop()
    while out and (not out[0].strip() or RULE.match(out[0])):
        out.pop(0)
    return out, nav


def _links_only(line: str) -> bool:
    rest = MD_LINK.sub("", line.replace("&nbsp;", " ").lstrip("#"))
    return bool(SEPARATORS.match(rest))


def _lead_image(root: etree._Element, base: str | None) -> Image | None:
    cap = next(iter(CAPTION_XPATH(root)), None)
    holder = cap.getparent() if cap is not None else None
    img = holder.find(".//img") if holder is not None else None
    if img is None or not img.get("src"):
        return None
    found = images_in(holder, base=base)
    caption = html_to_text(cap) or None
    return Image(found[0].url, caption) if found else None


def _strip_noise(body: etree._Element) -> None:
    for el in list(body.iter()):
        if not isinstance(el.tag, str) or el.getparent() is None:
            continue
        marks = f"{el.get('id', '')} {el.get('class', '')}"
        if (marks != " " and AD_MARK.search(marks)) or (
            el.tag in ("p", "div") and _may_be_editor_line(el) and EDITOR.match(text_content(el))
        ):
            drop_tree(el)


def _may_be_editor_line(el: etree._Element) -> bool:
    """False when the element's own leading text already rules out an editor line, which
    spares collecting the text of every paragraph."""
    lead = (el.text or "").lstrip()
    return not lead or lead[0] in "责責"


def _published(footer: str | None, text: str) -> str | None:
    if footer and (m := URL_DATE.search(footer)):
        y, mo, d = (int(g) for g in m.groups())
        return dates.iso_date(y + 2000 if y < 100 else y, mo, d)
    if m := DATELINE_DATE.search(text):
        return dates.iso_date(*(int(g) for g in m.groups()))
    return None
