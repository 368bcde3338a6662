"""Feed archives: a bridge's dump of one feed entry as ``[title](url)``, dashes, then HTML.

The bridge stamps the entry time as an epoch-milliseconds comment; older dumps carry a
``日期：`` line or a Jekyll header instead. Its templating also leaks the entry's original
dateline ``<div>28/01/2022 - 14:56</div>`` and an empty-value word (``Array``, ``null``)
at the top of the body; both are removed before the body is read.
"""

from __future__ import annotations

import re

from monitor.models import Item, ParseError
from monitor.parsers import dates
from monitor.parsers.hexo import as_list, as_text, as_title, split_front_matter
from monitor.parsers.html import clean_html, fragment, html_to_text, images_in, summarize
from monitor.text import detect_lang

FORMAT = "feed-archive"

EPOCH = re.compile(r"^\s*<!--\s*(\d{10,13})\s*-->\s*$")
# The ``[title](url)`` line: its title runs to the line's last "](" (:func:`link_title`).
_LINK_OPEN = re.compile(r"\s*\[")
_LINK_CLOSE = re.compile(r"\]\(\s*(?P<url>[^)\s]*)\s*\)\s*")
DASHES = re.compile(r"^\s*-{3,}\s*$")
# The value runs to the line's end or a tag; dates reads what it can of it (_day_line).
DATE_LINE = re.compile(
    r"^\s*(?:<[^>]+>\s*)*日期[：:]\s*(?P<date>\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}[^<]*)"
)
_OPEN = r"\A((?:\s*<(?:main|div|article|section)\b[^>]*>)*?)"
LEAD_DATELINE = re.compile(
    _OPEN + r"\s*<div[^>]*>\s*\d{1,2}/\d{1,2}/\d{4}(?:\s*-\s*\d{1,2}:\d{2})?\s*</div>", re.I
)
LEAD_JUNK = re.compile(_OPEN + r"\s*(?:Array|null|undefined|None)(?=\s*(?:<|\Z))")


def link_title(line: str) -> tuple[str, str] | None:
    """``(title, url)`` of a ``[title](url)`` line, else None. The title is all up to the
    line's last "](" (a title may hold brackets), found with ``rfind``: a pattern's greedy
    title tried every "](" with the rest of the line, 20 s for a line of thousands."""
    if (m := _LINK_OPEN.match(line)) is None:
        return None
    at = line.rfind("](", m.end())
    if at < 0 or (close := _LINK_CLOSE.fullmatch(line, at)) is None:
        return None
    return line[m.end() : at], close["url"]


def parse(text: str, *, url: str | None = None, site: str | None = None) -> Item:
    fields: dict = {}
    if (found := split_front_matter(text)) is not None:
        fields, text = found
    lines = text.splitlines()

    published = None
    i = 0
    head = None
    while i < len(lines) and (head := link_title(lines[i])) is None:
        if m := EPOCH.match(lines[i]):
            published = dates.from_epoch_ms(_as_ms(m[1]))
        i += 1
    if head is None:
        raise ParseError("feed-archive document without a '[title](url)' line")
    head_title, head_url = head
    rest = lines[i + 1 :]
    if rest and DASHES.match(rest[0]):
        rest = rest[1:]

    body_lines = []
    day_line = None
    for line in rest:
        if day_line is None and (m := DATE_LINE.match(line)):
            day_line = m["date"]
            continue
        body_lines.append(line)
    body = _strip_leading_junk("\n".join(body_lines))

    title = as_title(head_title) or as_title(fields.get("title"))
    if not title:
        raise ParseError("feed-archive document with an empty title")
    published = published or dates.parse_when(fields.get("date")) or _day_line(day_line)
    from_field = as_text(fields.get("from"))
    item_url = head_url or None
    if from_field and "://" in from_field:  # some dumps put the source URL there
        item_url = item_url or from_field
        from_field = None

    root = fragment(body)
    body_text = html_to_text(root)
    return Item(
        title=title,
        format=FORMAT,
        url=item_url,
        site=from_field or site,
        author=as_text(fields.get("author")),
        published=published,
        summary=summarize(body_text),
        text=body_text,
        images=images_in(root, base=item_url or url),
        html=clean_html(root, base=item_url or url),
        tags=as_list(fields.get("tags")),
        lang=detect_lang(title + "\n" + body_text),
    )


def _day_line(value: str | None) -> str | None:
    """The time of a ``日期：`` line, written as any date is (``2022-01-20 09:15 PM``,
    ``2022年1月20日 21时15分``): the longest run of its words from the start that reads,
    so that ``2022-01-20 09:15 来源：法广`` keeps its time. A dozen words at most: a date
    spaced out (``2022 年 1 月 20 日 21 时 15 分``) fits, a long line is not read again
    for each of its words."""
    words = (value or "").split()[:12]
    for n in range(len(words), 0, -1):
        if found := dates.parse_when(" ".join(words[:n])):
            return found
    return None


def _as_ms(stamp: str) -> int:
    """Epoch stamps are milliseconds; a 10-digit one is seconds."""
    return int(stamp) * 1000 if len(stamp) <= 10 else int(stamp)


def _strip_leading_junk(body: str) -> str:
    body = LEAD_DATELINE.sub(r"\1", body.lstrip(), count=1)
    return LEAD_JUNK.sub(r"\1", body, count=1)
