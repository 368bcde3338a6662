"""Digest rendering: seed goldens, HTML safety (also in a real headless Chromium), Atom.

Run with ``UPDATE_GOLDEN=1`` to rewrite tests/golden/digest.{md,json,txt} (and, when
Chromium is available, docs/digest.png) from the current output; read the diff first.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest

from monitor.canonical import SiteRules, assign_keys
from monitor.digest import lead
from monitor.models import Digest, DigestEntry, DigestStory
from monitor.parsers import parse
from monitor.render import (
    FORMATS,
    SCHEMA,
    digest_to_dict,
    entry_id,
    format_time,
    render,
    render_atom,
    safe_url,
    subject,
)

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

WATCH = "乌克兰"
TERMS = ("乌克兰", "普京", "北约")
TZ = "Asia/Shanghai"
GENERATED_AT = "2022-01-29T08:00:00+08:00"
# Where a mirror would serve each seed file; an example host, only ever shown as a link.
MIRROR = "https://mirror.example/seeds/"
# Seed groups by number prefix; the headline is whichever story of a group is newest.
GROUPS = (("000", "002"), ("001", "003"), ("004",))


# --- the seed digest ---------------------------------------------------------------------


def _in_zone(published: str | None) -> str | None:
    """UTC ISO time → the watch's zone; a date-only value stays a date."""
    if published is None or len(published) == 10:
        return published
    return datetime.fromisoformat(published).astimezone(ZoneInfo(TZ)).isoformat()


def _when(published: str) -> datetime:
    dt = datetime.fromisoformat(published)
    return dt if dt.tzinfo else dt.replace(tzinfo=ZoneInfo(TZ))


def seed_digest() -> Digest:
    """The five seeds as a digest for watch 乌克兰: [000+002], [001+003], [004]."""
    rules = SiteRules.load_default()
    items, stories = {}, {}
    for path in sorted(SEEDS.glob("*.txt")):
        (item,) = parse(path.read_bytes())
        assign_keys(item, rules)
        items[path.name[:3]] = item
        stories[path.name[:3]] = DigestStory(
            story_key=item.story_key,
            title=item.title,
            site=item.site,
            published=_in_zone(item.published),
            url=item.canonical_url or item.url,
            lead=lead(item.text),
            mirror_links=[MIRROR + path.name],
            image=item.images[0].url if item.images else None,
        )
    entries = []
    for group in GROUPS:
        newest_first = sorted((stories[k] for k in group), key=lambda s: _when(s.published))[::-1]
        text = " ".join(items[k].title + " " + items[k].text for k in group)
        entries.append(
            DigestEntry(
                headline=newest_first[0],
                also=newest_first[1:],
                matched_terms=[t for t in TERMS if t in text],
            )
        )
    entries.sort(key=lambda e: _when(e.headline.published), reverse=True)
    return Digest(
        watch=WATCH,
        generated_at=GENERATED_AT,
        timezone=TZ,
        since="since 2021-12-01",
        entries=entries,
    )


def empty_digest() -> Digest:
    return Digest(watch=WATCH, generated_at=GENERATED_AT, timezone=TZ, since="since last digest")


def test_seed_digest_groups_orders_and_converts_times():
    d = seed_digest()
    heads = [e.headline.title for e in d.entries]
    assert heads == [
        "美乌总统新年来二度通话 拜登警告俄罗斯明显可能2月入侵乌克兰",  # 004, 2022-01-28
        "拜登普京本月第二度通话 双方互发警告",  # 000, newer than 002
        "视频2小时！拜登威胁制裁，普京：北约需承诺不东扩",  # 003, newer than 001
    ]
    assert [len(e.also) for e in d.entries] == [0, 1, 1]
    rfi = d.entries[0].headline
    assert rfi.published == "2022-01-28T23:45:02+08:00"  # 15:45:02Z in Shanghai
    assert d.entries[1].headline.published == "2021-12-31"  # date-only stays date-only
    assert all(len(s.lead) <= 121 for e in d.entries for s in (e.headline, *e.also))


# --- goldens -----------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "ext"), [("md", "md"), ("json", "json"), ("text", "txt")])
def test_golden(fmt, ext):
    out = render(seed_digest(), fmt)
    path = GOLDEN / f"digest.{ext}"
    if UPDATE:
        path.write_text(out, encoding="utf-8")
    assert out == path.read_text(encoding="utf-8")
    assert render(seed_digest(), fmt) == out  # stable


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown digest format"):
        render(seed_digest(), "pdf")


def test_markdown_and_text_read_well():
    md = render(seed_digest(), "md")
    assert md.startswith("# 乌克兰: 3 new stories\n")
    assert "**RFI** · 2022-01-28 23:45" in md
    assert "**大纪元** · 2021-12-31 ·" in md  # a date-only value is shown as a date
    assert "Also reported by:" in md
    text = render(seed_digest(), "text")
    assert "   观察者网 · 2021-12-08 17:29 · matched: 乌克兰, 普京, 北约" in text
    assert "   - Aljazeera 半岛网 · 2021-12-08 09:56 · 担心战争爆发" in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_digest_says_so(fmt):
    out = render(empty_digest(), fmt)
    if fmt == "json":
        doc = json.loads(out)
        assert doc["entries"] == [] and doc["counts"]["entries"] == 0
    else:
        assert "no new stories" in out.lower()
    assert len(out) < 4000


def test_subject():
    assert subject(seed_digest()) == "[monitor] 乌克兰: 3 new stories (2022-01-29)"
    one = replace(seed_digest(), entries=seed_digest().entries[:1])
    assert subject(one) == "[monitor] 乌克兰: 1 new story (2022-01-29)"
    assert subject(empty_digest()) == "[monitor] 乌克兰: no new stories (2022-01-29)"
    assert subject(replace(empty_digest(), watch="乌克兰\r\nBcc: x@example.org")) == (
        "[monitor] 乌克兰 Bcc: x@example.org: no new stories (2022-01-29)"
    )


# --- helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2021-12-31T08:00:00+08:00", "2021-12-31 08:00"),
        ("2021-12-31T08:00:59+08:00", "2021-12-31 08:00"),
        ("2021-12-31", "2021-12-31"),
        ("2021-12-31T08:00", "2021-12-31 08:00"),
        (None, ""),
        ("", ""),
        ("yesterday\x1b[31m", "yesterday[31m"),
    ],
)
def test_format_time(value, shown):
    assert format_time(value) == shown


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://www.rfi.fr/cn/a", True),
        ("http://example.org/x?y=1#z", True),
        ("  https://example.org/  ", True),
        ("HTTPS://EXAMPLE.ORG/", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        (" javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("java\nscript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:msgbox(1)", False),
        ("file:///etc/passwd", False),
        ("//evil.example/x", False),
        ("../../../..?n13473224", False),
        ("https:alert(1)", False),
        ("https://", False),
        ("http://[::1", False),
        (None, False),
        ("", False),
    ],
)
def test_safe_url(url, ok):
    assert (safe_url(url) is not None) is ok


def test_lead():
    assert lead("  短文。 ") == "短文。"
    sentences = "第一句话说完了。" * 30
    cut = lead(sentences)
    assert cut.endswith("。") and 72 <= len(cut) <= 120
    run_on = "没有句号" * 60
    cut = lead(run_on)
    assert cut.endswith("…") and len(cut) == 121


def test_lead_of_a_long_text_is_the_lead_of_its_collapsed_whole():
    """The lead reads only a prefix of a long text; whitespace runs must not change it."""
    rng = random.Random(5)
    pieces = ["北约", "峰会", "。", " ", "\n\n", "      ", "Putin", "！", "\t"]
    for _ in range(500):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 400)))
        collapsed = " ".join(text.split())
        assert lead(text) == lead(collapsed), text
        assert lead(text).rstrip("…") in collapsed


# --- JSON --------------------------------------------------------------------------------


def test_json_schema_fields_and_encoding():
    out = render(seed_digest(), "json")
    assert "乌克兰" in out and "\\u" not in out  # ensure_ascii=False
    doc = json.loads(out)
    assert doc == digest_to_dict(seed_digest())
    assert list(doc) == [
        "schema",
        "watch",
        "digest_id",
        "generated_at",
        "timezone",
        "since",
        "counts",
        "entries",
    ]
    assert doc["schema"] == SCHEMA == "monitor-digest/1"
    assert doc["counts"] == {"entries": 3, "stories": 5, "outlets": 4}
    story = doc["entries"][1]["headline"]
    assert list(story) == [
        "story_key",
        "title",
        "site",
        "published",
        "url",
        "lead",
        "mirror_links",
        "image",
    ]
    assert story["story_key"] == "epochtimes:n13473224"
    assert list(doc["entries"][0]) == ["headline", "also", "matched_terms", "outlets"]


def test_schema_document_names_every_field():
    doc = (ROOT / "docs" / "digest-schema.md").read_text(encoding="utf-8")
    assert SCHEMA in doc
    data = digest_to_dict(seed_digest())
    keys = set(data) | set(data["counts"]) | set(data["entries"][0])
    keys |= set(data["entries"][0]["headline"])
    for key in keys:
        assert f"`{key}`" in doc, f"docs/digest-schema.md does not describe {key!r}"


# --- HTML --------------------------------------------------------------------------------


class Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer would see them."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def named(self, tag):
        return [a for t, a in self.tags if t == tag]


def test_html_is_self_contained_and_phone_friendly():
    out = render(seed_digest(), "html")
    tags = Tags(out)
    assert out.startswith('<!DOCTYPE html>\n<html lang="zh-Hans">')
    assert tags.named("meta")[0] == {"charset": "utf-8"}
    assert {"name": "viewport", "content": "width=device-width, initial-scale=1"} in tags.named(
        "meta"
    )
    for font in ("PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei"):
        assert font in out
    assert "max-width:640px" in out
    # No scripts, stylesheets, frames, images or anything else that loads or runs.
    assert not {t for t, _ in tags.tags} & {"script", "link", "img", "iframe", "object", "embed"}
    assert "@import" not in out and "url(" not in out
    assert all(safe_url(a["href"]) for a in tags.named("a"))
    for title in ("拜登普京本月第二度通话 双方互发警告", "本月第二次会谈 拜登普京结束通话"):
        assert title in out
    assert "Also reported by" in out
    assert "https://mirror.example/seeds/000_ebf68263cc861490.txt" in out


def test_html_images_only_on_request():
    plain = Tags(render(seed_digest(), "html"))
    assert plain.named("img") == []
    shown = Tags(render(seed_digest(), "html", images=True))
    srcs = [a["src"] for a in shown.named("img")]
    assert srcs and all(s.startswith("https://") for s in srcs)


POISON_TITLE = "<script>alert(1)</script>"
POISON_LEAD = "看这里 <img src=x onerror=alert(1)> 结束"


def poisoned_digest(*, marker: bool = False) -> Digest:
    """A story with hostile title, lead, site, links and image.

    With ``marker``, each payload tries to set ``data-pwned`` on <body> instead of alerting,
    so a browser that ran any of them leaves a trace in the DOM.
    """

    def js(tag):
        return f"document.body.setAttribute('data-pwned','{tag}')" if marker else "alert(1)"

    evil = DigestStory(
        story_key="url://evil.example/1",
        title=f"<script>{js('title')}</script>" if marker else POISON_TITLE,
        site=f'<svg onload="{js("site")}">',
        published="2022-01-01T09:00:00+08:00",
        url=f"javascript:{js('url')}",
        lead=f'看这里 <img src=x onerror="{js("lead")}"> 结束' if marker else POISON_LEAD,
        mirror_links=[
            f"data:text/html,<script>{js('data')}</script>",
            f'https://mirror.example/a"><script>{js("attr")}</script>',
            "vbscript:msgbox(1)",
        ],
        image="https://tracker.example/pixel.gif",
    )
    also = DigestStory(
        story_key="url://evil.example/2",
        title=f'"><img src=x onerror="{js("also")}">',
        site="Evil",
        published="2022-01-01",
        url=f" JaVaScRiPt:{js('also-url')}",
        lead="",
        image=f"javascript:{js('img')}",
    )
    entry = DigestEntry(headline=evil, also=[also], matched_terms=["<b onmouseover=alert(1)>"])
    return replace(seed_digest(), entries=[entry, *seed_digest().entries])


@pytest.mark.parametrize("images", [False, True])
def test_poisoned_story_html_is_inert(images):
    out = render(poisoned_digest(), "html", images=images)
    tags = Tags(out)
    names = {t for t, _ in tags.tags}
    assert "script" not in names and "svg" not in names
    assert "<script" not in out.lower()
    for tag, attrs in tags.tags:
        assert not [a for a in attrs if a.lower().startswith("on")], (tag, attrs)
        for name in ("href", "src"):
            if name in attrs:
                assert attrs[name].startswith(("https://", "http://")), (tag, attrs)
    assert "javascript:" not in out.lower() and "vbscript:" not in out and "data:" not in out
    imgs = tags.named("img")
    if images:
        # Only the http(s) image, as a bare element: no handlers, no referrer sent.
        assert imgs[0]["src"] == "https://tracker.example/pixel.gif"
        assert all(a["src"].startswith("https://") for a in imgs)  # javascript: image dropped
        assert len(imgs) == 1 + sum(1 for e in seed_digest().entries if e.headline.image)
        assert set(imgs[0]) == {"src", "alt", "referrerpolicy", "loading", "style"}
        assert imgs[0]["referrerpolicy"] == "no-referrer"
    else:
        assert imgs == []
    # The hostile text is still there, as text.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out


def test_poisoned_story_markdown_is_inert():
    md = render(poisoned_digest(), "md")
    # Every "<" is backslash-escaped except the autolinks' own.
    assert not re.search(r"(?<!\\)<(?!https?://)", md)
    assert "javascript:" not in md.lower() and "data:" not in md and "vbscript:" not in md
    assert "\\<script\\>alert(1)\\</script\\>" in md
    # The quote-breaking mirror URL is kept, percent-encoded, inside an autolink.
    assert "<https://mirror.example/a%22%3E%3Cscript%3Ealert%281%29%3C/script%3E>" in md


@pytest.mark.parametrize("opening", ["1. ", "2) ", "- ", "+ "])
def test_markdown_text_opening_like_a_list_stays_text(opening: str):
    """A lead that opens with "1. " became a numbered list inside its quote, and an undated
    story's title in "Also reported by" a list inside the list."""
    from markdown_it import MarkdownIt

    d = seed_digest()
    entry = next(e for e in d.entries if e.also)
    entry.headline.lead = opening + "美国宣布新一轮制裁措施。"
    entry.also[0] = replace(entry.also[0], site=None, published=None, url=None)
    entry.also[0].title = opening + "又一篇报道"
    html = MarkdownIt().render(render(d, "md"))
    assert f"<blockquote>\n<p>{opening}美国宣布新一轮制裁措施。</p>" in html
    assert f"<li>{opening}又一篇报道\n" in html
    assert html.count("<li>") == sum(len(e.also) for e in d.entries)  # only the Also lists


def test_control_characters_are_dropped():
    d = poisoned_digest()
    d.entries[0].headline.title = "标题\x1b\x07\u202e反转\x00"
    for fmt in FORMATS:
        out = render(d, fmt)
        assert "\x1b" not in out and "\u202e" not in out and "\x00" not in out
        assert "标题反转" in out


# --- Atom --------------------------------------------------------------------------------

FEED_URL = "https://example.org/feeds/wukelan.atom"
ATOM = "http://www.w3.org/2005/Atom"


def test_atom_is_valid_and_stable():
    digests = [seed_digest()]
    xml = render_atom(digests, watch=WATCH, feed_url=FEED_URL)
    assert xml == render_atom(digests, watch=WATCH, feed_url=FEED_URL)
    f = feedparser.parse(xml)
    assert f.bozo == 0, f.get("bozo_exception")
    assert f.version == "atom10"
    assert f.feed.title == "monitor: 乌克兰"
    assert f.feed.links[0].href == FEED_URL and f.feed.links[0].rel == "self"
    assert len(f.entries) == 3
    assert [e.id for e in f.entries] == [
        entry_id(WATCH, e.headline.story_key) for e in seed_digest().entries
    ]
    assert all(e.id.startswith("tag:monitor,2021:") for e in f.entries)
    first, second, third = f.entries
    assert first.title == "美乌总统新年来二度通话 拜登警告俄罗斯明显可能2月入侵乌克兰"
    assert first.updated == "2022-01-29T08:00:00+08:00"
    assert first.published == "2022-01-28T23:45:02+08:00"
    assert first.author == "RFI"
    assert first.link.startswith("https://www.rfi.fr/cn/")
    assert second.published == "2021-12-31T00:00:00+08:00"  # a date: its midnight, in TZ
    content = second.content[0].value
    assert "Also reported by" in content and "本月第二次会谈 拜登普京结束通话" in content
    assert "https://www.epochtimes.com/gb/21/12/30/n13470319.htm" in content
    assert "mirror.example/seeds/002_7ac03c88fe2e9e94.txt" in content
    assert [t.term for t in third.tags] == ["乌克兰", "普京", "北约"]
    assert "Aljazeera 半岛网" in third.content[0].value


def test_atom_with_characters_xml_forbids_is_still_a_feed():
    """U+FFFE and U+FFFF (a text decoded wrongly) may not appear in XML: one such title
    made the whole feed, every digest of it, unreadable to feed readers."""
    d = seed_digest()
    d.entries[0].headline.title = "普京\ufffe访问\uffff北京"
    d.entries[0].headline.lead = "普京\uffff周一表示"
    d.entries[1].also[0].title = "本月\ufffe第二次会谈"
    xml = render_atom([d], watch=WATCH)
    entry = ET.fromstring(xml).find(f"{{{ATOM}}}entry")
    assert entry.find(f"{{{ATOM}}}title").text == "普京访问北京"
    assert entry.find(f"{{{ATOM}}}summary").text == "普京周一表示"
    assert "本月第二次会谈" in xml


@pytest.mark.parametrize(
    "published, zone, shown",
    [
        ("2021-12-31", "Europe/Berlin", "2021-12-31T00:00:00+01:00"),
        ("2021-12-31", "UTC", "2021-12-31T00:00:00Z"),
        ("2021-12-31T09:30:00+08:00", "Europe/Berlin", "2021-12-31T09:30:00+08:00"),
        ("2021-13-31", "UTC", None),  # no date: no published
    ],
)
def test_atom_published_of_a_date_is_its_midnight_in_the_watch_s_zone(published, zone, shown):
    d = seed_digest()
    story = replace(d.entries[1].headline, published=published)
    d = replace(d, timezone=zone, entries=[replace(d.entries[1], headline=story)])
    xml = render_atom([d], watch=WATCH)
    f = feedparser.parse(xml)
    assert f.bozo == 0, f.get("bozo_exception")
    published_tags = re.findall(r"<published>(.*?)</published>", xml)
    assert published_tags == ([shown] if shown else [])


def test_atom_keeps_the_newest_copy_of_a_story():
    older = replace(seed_digest(), generated_at="2022-01-28T08:00:00+08:00")
    newer = replace(
        seed_digest(), generated_at="2022-01-29T20:00:00+08:00", entries=older.entries[:1]
    )
    f = feedparser.parse(render_atom([older, newer], watch=WATCH))
    assert f.bozo == 0
    assert len(f.entries) == 3 and len({e.id for e in f.entries}) == 3
    assert f.entries[0].updated == "2022-01-29T20:00:00+08:00"
    assert f.feed.updated == "2022-01-29T20:00:00+08:00"
    assert [e.updated for e in f.entries[1:]] == ["2022-01-28T08:00:00+08:00"] * 2


def test_atom_empty_and_wrong_watch():
    f = feedparser.parse(render_atom([], watch=WATCH))
    assert f.bozo == 0 and f.entries == [] and f.feed.title == "monitor: 乌克兰"
    with pytest.raises(ValueError, match="other watches"):
        render_atom([seed_digest()], watch="台湾")


def test_atom_poisoned_story_is_inert():
    xml = render_atom([poisoned_digest()], watch=WATCH, feed_url="javascript:alert(1)")
    f = feedparser.parse(xml)
    assert f.bozo == 0
    assert not re.search(r"(?i)href=\"\s*(javascript|data|vbscript):", xml)
    evil = f.entries[0]
    assert evil.title == POISON_TITLE  # plain text, shown as text
    assert evil.get("links", []) == []  # the javascript: links are gone
    raw = re.search(r"<content type=\"html\">(.*?)</content>", xml, re.S).group(1)
    assert "<" not in raw  # the HTML content is escaped once more inside the XML
    # The HTML we put in the entry (before any feed reader sanitizes it) is inert.
    content = ET.fromstring(xml).find(f"{{{ATOM}}}entry/{{{ATOM}}}content").text
    tags = Tags(content)
    assert "script" not in {t for t, _ in tags.tags} and tags.named("img") == []
    for _, attrs in tags.tags:
        assert not [a for a in attrs if a.startswith("on")]
        assert "href" not in attrs or attrs["href"].startswith("https://")
    assert "&lt;img src=x onerror=alert(1)&gt;" in content


# --- a real browser ----------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium or chromium-browser binary on PATH"
)


def chromium(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def dump_dom(tmp_path: Path, html: str, name: str) -> str:
    page = tmp_path / name
    page.write_text(html, encoding="utf-8")
    done = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<body" in done.stdout, done.stderr[-2000:]
    return done.stdout


def body_attrs(dom: str) -> dict:
    return next(a for t, a in Tags(dom).tags if t == "body")


@needs_chromium
def test_chromium_runs_a_planted_payload(tmp_path):
    """The control: the same marker payload, unescaped, does run — so the check can fail."""
    page = "<!DOCTYPE html><html><body>" + (
        "<img src=x onerror=\"document.body.setAttribute('data-pwned','control')\">"
    )
    assert body_attrs(dump_dom(tmp_path, page, "control.html")).get("data-pwned") == "control"


@needs_chromium
@pytest.mark.parametrize("csp", [True, False], ids=["as-rendered", "without-csp"])
def test_chromium_runs_nothing_from_a_poisoned_digest(tmp_path, csp):
    html = render(poisoned_digest(marker=True), "html")
    if not csp:  # escaping alone must already be enough
        html, n = re.subn(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>\n", "", html)
        assert n == 1
    dom = dump_dom(tmp_path, html, "poisoned.html")
    assert "data-pwned" not in body_attrs(dom)
    assert "<title>乌克兰: 4 new stories</title>" in dom
    assert Tags(dom).named("script") == [] and Tags(dom).named("svg") == []
    assert "看这里 &lt;img src=x onerror=" in dom  # shown as text


@needs_chromium
def test_chromium_screenshot_of_the_seed_digest(tmp_path):
    page = tmp_path / "digest.html"
    page.write_text(render(seed_digest(), "html"), encoding="utf-8")
    shot = tmp_path / "digest.png"
    done = chromium(tmp_path, f"--screenshot={shot}", "--window-size=420,900", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert int.from_bytes(data[16:20], "big") == 420  # IHDR width
    if UPDATE:
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shot, ROOT / "docs" / "digest.png")
