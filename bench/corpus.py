"""Deterministic benchmark corpus: Chinese news feeds and mirror pages, with ground truth.

Everything comes from one ``random.Random(seed)``, so a spec always produces the same bytes
(and the same ETags). A corpus is written once into a cache directory named after
:data:`VERSION` and the spec, and reused by later runs.

Layout of a corpus directory (served as is by :mod:`bench.server`)::

    feeds/f0000.xml ...          RSS 2.0 (two of three feeds) and Atom (every third feed)
    mirror/pages/p0000-<id>.md   mirror pages, cycling through :data:`MIRROR_FORMATS`: the
                                 three seed formats, plain Markdown articles, and Hexo
                                 posts with Markdown bodies
    mirror/index-990.md          markdown index of the pages already known ...
    mirror/index-1000.md         ... and of all of them (new pages listed first)
    truth.json                   ground truth (see :class:`Truth`)

Ground truth: every feed entry is an *original* story or a *copy* of a story first published
in another feed (``dup_share`` of all entries). A copy's link is a variant of the original's:
``utm_*`` parameters, the other scheme, an upper-case host, a ``#fragment``, or, for
大纪元-style links (``https://www.epochtimes.com/gb/21/12/31/n13473224.htm``), the
Traditional ``/b5/`` edition with Traditional text. The expected number of distinct stories
is the number of originals. :func:`story_of` maps any link the corpus used back to its story
with the generator's own rule (not monitor's), so a store can be checked independently.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from html import escape
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

VERSION = "corpus-v2"  # v2: Markdown mirror pages (feeds unchanged)
DEFAULT_CACHE = Path(
    os.environ.get("MONITOR_BENCH_CACHE", Path.home() / ".cache" / "monitor-bench")
)

# --- vocabulary ------------------------------------------------------------------------------

# Words of international news copy; sentences are drawn from these.
_WORD_LIST = (
    "美国 总统 拜登 俄罗斯 普京 乌克兰 北约 欧盟 中国 北京 华盛顿 莫斯科 基辅 政府 官员 表示 "
    "周四 周五 周日 会谈 通话 电话 视频 峰会 制裁 经济 军事 边境 集结 部队 士兵 安全 外交 努力 "
    "局势 紧张 升级 缓和 声明 白宫 克里姆林宫 发言人 记者 报道 消息 人士 透露 分析 认为 指出 "
    "强调 警告 威胁 承诺 支持 反对 盟友 伙伴 欧洲 德国 法国 英国 意大利 加拿大 日本 台湾 香港 "
    "问题 讨论 领导人 国家 地区 国际 社会 关系 合作 对话 谈判 协议 条款 停火 冲突 入侵 侵略 行动 "
    "计划 准备 决定 措施 援助 提供 资金 发展 人道主义 天然气 管道 能源 市场 价格 通胀 央行 "
    "利率 投资 企业 公司 科技 芯片 出口 进口 贸易 关税 疫情 病毒 疫苗 医院 学生 大学 研究 中心 "
    "教授 专家 学者 选举 议会 法案 投票 民主 自由 人权 媒体 网络 平台 数据 隐私 法院 判决 "
    "警方 调查 逮捕 抗议 示威 民众 城市 农村 地方 经济学家 报告 显示 增长 下降 今年 去年 "
    "明年 上月 本月 将会 已经 可能 继续 进一步 重新 正在 一直 目前 此前 随后 同时 然而 但是 "
    "因此 此外 并且 以及 对于 关于 根据 通过 由于 为了 包括 其中 许多 一些 所有 双方 各方 "
    "两国 邻国 主权 领土 完整 东部 西方 南方 北方 海军 空军 导弹 武器 演习 飞机 舰艇 卫星"
)
WORDS = _WORD_LIST.split()
# Characters for transliterated names and places: the rarer terms of a large store.
NAME_CHARS = (
    "阿巴卡达尔德埃法伽哈伊杰克拉马纳奥帕奎里萨塔乌瓦维希亚泽布格鲁斯基科夫诺娃莉莎琳"
    "罗洛林米尼特蒙顿森伦兰丁贝佩赫霍戈索托沃韦耶尤兹"
)
OUTLETS = (
    # name, kind of link (see _story_url)
    ("大纪元", "epoch"),
    ("新唐人", "ntdtv"),
    ("美国之音", "voa"),
    ("联合早报", "zaobao"),
    ("RFI", "rfi"),
    ("观察者网", "guancha"),
    ("BBC 中文", "bbc"),
    ("DW 中文", "dw"),
    ("华语新闻网", "generic"),
    ("新闻快讯", "generic"),
)
# Page p is in format p % len(MIRROR_FORMATS). The first three are the seed formats;
# "hexo-markdown" is a Hexo post whose body is Markdown (parsed as format "hexo").
MIRROR_FORMATS = ("epoch-mirror", "hexo", "feed-archive", "markdown", "hexo-markdown")
SEED_FORMATS = MIRROR_FORMATS[:3]
_TZ8 = timedelta(hours=8)
_CST = timezone(_TZ8)
_T0 = datetime(2021, 12, 31, 23, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Spec:
    """What to generate. Equal specs give byte-identical corpora."""

    feeds: int = 200
    items: int = 50
    dup_share: float = 0.15
    mirror_pages: int = 1000
    mirror_known: int = 990
    seed: int = 20211231

    @property
    def key(self) -> str:
        raw = json.dumps([VERSION, asdict(self)], sort_keys=True)
        return (
            f"{VERSION}-{self.feeds}x{self.items}-m{self.mirror_pages}-"
            + (hashlib.sha1(raw.encode()).hexdigest()[:10])
        )


@dataclass
class Truth:
    """What a correct store holds after polling every feed of the corpus."""

    spec: dict
    entries: int  # feed entries in all feeds
    stories: int  # distinct stories among them (the expected row count of a deduping store)
    copies: int  # entries that repeat a story of another feed
    variants: dict[str, int]  # how copies' links differ from the original's
    story_ids: list[int] = field(default_factory=list)  # every original story, sorted
    mirror_pages: int = 0
    mirror_known: int = 0
    mirror_new: int = 0
    mirror_formats: dict[str, int] = field(default_factory=dict)
    feed_paths: list[str] = field(default_factory=list)
    page_paths: list[str] = field(default_factory=list)
    url_story: dict[str, int] = field(default_factory=dict)  # story_key_of(link) -> story id
    title_story: dict[str, int] = field(default_factory=dict)  # mirror pages without a link


def story_key_of(url: str) -> str:
    """The generator's own notion of "same link": the corpus varies links only by scheme,
    host case, ``utm_*`` parameters, fragment and the 大纪元 ``/gb/``↔``/b5/`` edition."""
    parts = urlsplit(url.strip())
    query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("utm_"))
    path = parts.path.replace("/b5/", "/gb/")
    return urlunsplit(("", parts.netloc.lower(), path, query, ""))


def story_of(truth: Truth, url: str | None, title: str | None = None) -> int | None:
    if url:
        sid = truth.url_story.get(story_key_of(url))
        if sid is not None:
            return sid
    if title:
        return truth.title_story.get(" ".join(title.split()))
    return None


# --- text --------------------------------------------------------------------------------------


class Writer:
    """Chinese news prose from a seeded generator."""

    def __init__(self, rng: random.Random):
        self.r = rng

    def name(self) -> str:
        return "".join(self.r.choices(NAME_CHARS, k=self.r.choice((2, 3, 3, 4))))

    def sentence(self) -> str:
        r = self.r
        words = r.choices(WORDS, k=r.randint(8, 22))
        if r.random() < 0.3:
            words.insert(r.randrange(len(words)), self.name())
        if r.random() < 0.15:
            words.insert(r.randrange(len(words)), f"{r.randint(2, 2022)}年")
        cut = r.randrange(3, len(words) - 2)
        s = "".join(words[:cut]) + "，" + "".join(words[cut:])
        if r.random() < 0.08:
            s += r.choice(("（Reuters）", "（AP）", "（Vladimir Putin）", "（NATO）", "（AFP）"))
        return s + "。"

    def paragraph(self) -> str:
        return "".join(self.sentence() for _ in range(self.r.randint(2, 5)))

    def title(self, sid: int) -> str:
        """A headline ending in the story number, in words: unique, not a visible counter."""
        r = self.r
        head = "".join(r.choices(WORDS, k=r.randint(3, 5)))
        sep = r.choice(("表示", "称", "：", " "))
        return f"{head}{self.name()}{sep}{''.join(r.choices(WORDS, k=2))}第{_cn_num(sid)}号"

    def body_html(self, min_bytes: int, max_bytes: int, *, images: int = 1) -> str:
        """``<p>`` paragraphs (and ``<img>``/``<a>``) until the UTF-8 size is in range."""
        r = self.r
        target = r.randint(min_bytes, max_bytes)
        img_at = {r.randint(0, 3) for _ in range(images)}
        parts: list[str] = []
        size = 0
        while size < target:
            if len(parts) in img_at:
                n = r.randint(100000, 999999)
                parts.append(
                    f'<p><img src="https://i.example-img.com/assets/2021/12/id{n}-600x400.jpg" '
                    f'alt="图片{n}"/></p>'
                )
            else:
                text = escape(self.paragraph(), quote=False)
                if r.random() < 0.2:
                    word = r.choice(WORDS)
                    link = f"https://www.example-tag.com/tag/{quote(word)}.html"
                    text = text.replace(word, f'<a href="{link}">{word}</a>', 1)
                parts.append(f"<p>{text}</p>")
            size += len(parts[-1].encode()) + 1
        return "\n".join(parts)


_DIGITS = "零一二三四五六七八九"


def _cn_num(n: int) -> str:
    return "".join(_DIGITS[int(d)] for d in str(n))


# --- links ---------------------------------------------------------------------------------


def _story_url(kind: str, sid: int, when: datetime, slug: str, outlet_index: int) -> str:
    d = when + _TZ8
    if kind == "epoch":
        return f"https://www.epochtimes.com/gb/{d:%y/%-m/%-d}/n{13400000 + sid}.htm"
    if kind == "ntdtv":
        return f"https://www.ntdtv.com/gb/{d:%Y/%m/%d}/a{103000000 + sid}.html"
    if kind == "voa":
        return f"https://www.voachinese.com/a/news-{d:%Y%m%d}/{6300000 + sid}.html"
    if kind == "zaobao":
        return f"https://www.zaobao.com.sg/news/china/story{d:%Y%m%d}-{1200000 + sid}"
    if kind == "rfi":
        return f"https://www.rfi.fr/cn/{quote('国际')}/{d:%Y%m%d}-{quote(slug)}-{sid}"
    if kind == "guancha":
        return f"https://www.guancha.cn/internation/{d:%Y_%m_%d}_{600000 + sid}.shtml"
    if kind == "bbc":
        return f"https://www.bbc.com/zhongwen/simp/world-{59000000 + sid}"
    if kind == "dw":
        return f"https://www.dw.com/zh/{quote(slug)}/a-{60000000 + sid}"
    return f"https://news{outlet_index}.example-news.com/{d:%Y/%m/%d}/{500000 + sid}.html"


VARIANTS = ("utm", "scheme", "host-case", "fragment", "b5")


def _variant(url: str, kind: str, rng: random.Random) -> tuple[str, list[str]]:
    """A different spelling of the same story's link (one or two changes)."""
    options = ["utm", "scheme", "host-case", "fragment"]
    if kind == "epoch":
        options += ["b5", "b5"]
    chosen = rng.sample(options, k=rng.choice((1, 1, 2)))
    parts = urlsplit(url)
    scheme, netloc, path, query, frag = parts
    for v in chosen:
        if v == "utm":
            extra = f"utm_source=rss&utm_medium=feed&utm_campaign=c{rng.randint(1, 99)}"
            query = f"{query}&{extra}" if query else extra
        elif v == "scheme":
            scheme = "http" if scheme == "https" else "https"
        elif v == "host-case":
            netloc = netloc.upper()
        elif v == "fragment":
            frag = rng.choice(("comments", "top", "xtor=RSS-1"))
        elif v == "b5":
            path = path.replace("/gb/", "/b5/")
    return urlunsplit((scheme, netloc, path, query, frag)), chosen


# --- feeds -----------------------------------------------------------------------------------


@dataclass
class _Entry:
    sid: int
    title: str
    url: str
    html: str
    summary: str
    when: datetime
    author: str
    guid: str
    tags: list[str]


def _rss(feed_no: int, site: str, base: str, entries: list[_Entry], guid_is_link: bool) -> str:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">',
        "<channel>",
        f"<title>{escape(site)} 新闻 {feed_no}</title>",
        f"<link>{escape(base)}</link>",
        f"<description>{escape(site)} 即时新闻</description>",
        "<language>zh-cn</language>",
        f"<lastBuildDate>{format_datetime(entries[0].when)}</lastBuildDate>",
        "<ttl>30</ttl>",
    ]
    for e in entries:
        guid = (
            f'<guid isPermaLink="true">{escape(e.url)}</guid>'
            if guid_is_link
            else f'<guid isPermaLink="false">{escape(e.guid)}</guid>'
        )
        # RFC 822 dates, half in GMT and half with the +0800 offset Chinese sites use.
        when = e.when if e.sid % 2 else e.when.astimezone(_CST)
        out += [
            "<item>",
            f"<title>{escape(e.title)}</title>",
            f"<link>{escape(e.url)}</link>",
            guid,
            f"<pubDate>{format_datetime(when, usegmt=when.tzinfo is UTC)}</pubDate>",
            f"<dc:creator>{escape(e.author)}</dc:creator>",
            *(f"<category>{escape(t)}</category>" for t in e.tags),
            f"<description>{escape(e.summary)}</description>",
            f"<content:encoded><![CDATA[{e.html}]]></content:encoded>",
            "</item>",
        ]
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out)


def _atom(feed_no: int, site: str, base: str, entries: list[_Entry]) -> str:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-CN">',
        f"<title>{escape(site)} 新闻 {feed_no}</title>",
        f'<link href="{escape(base)}"/>',
        f"<id>tag:bench.example,2021:feed-{feed_no}</id>",
        f"<updated>{entries[0].when.astimezone(_CST).isoformat()}</updated>",
    ]
    for e in entries:
        out += [
            "<entry>",
            f'<title type="text">{escape(e.title)}</title>',
            f'<link rel="alternate" type="text/html" href="{escape(e.url)}"/>',
            f"<id>{escape(e.guid)}</id>",
            # RFC 3339, with the +08:00 offset or Z.
            f"<published>{_rfc3339(e.when, e.sid)}</published>",
            f"<updated>{_rfc3339(e.when + timedelta(minutes=5), e.sid)}</updated>",
            f"<author><name>{escape(e.author)}</name></author>",
            *(f'<category term="{escape(t)}"/>' for t in e.tags),
            f'<summary type="text">{escape(e.summary)}</summary>',
            f'<content type="html">{escape(e.html)}</content>',
            "</entry>",
        ]
    out += ["</feed>", ""]
    return "\n".join(out)


def _rfc3339(when: datetime, sid: int) -> str:
    if sid % 2:
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return when.astimezone(_CST).isoformat()


# --- mirror pages ----------------------------------------------------------------------------


def _pretty_paragraphs(html: str) -> str:
    """The 大纪元 mirror's pretty-printed body: words on lines of their own, <ok href> links."""
    out = []
    for p in re.findall(r"<p>(.*?)</p>", html, re.S):
        if "<img" in p:
            continue
        p = re.sub(r'<a href="([^"]*)">([^<]*)</a>', r'\n  <ok href="\1">\n   \2\n  </ok>\n  ', p)
        out.append(f" <p>\n  {p}\n </p>")
    return "\n".join(out)


def _epoch_page(w: Writer, sid: int, title: str, when: datetime, html: str) -> tuple[str, str]:
    d = when + _TZ8
    nid = f"n{13400000 + sid}"
    url = f"https://www.epochtimes.com/gb/{d:%y/%-m/%-d}/{nid}.htm"
    nav = " &nbsp;|&nbsp; ".join(
        f"[{label}]({href}?{nid})"
        for label, href in (
            ("首页", "../../../.."),
            ("评论", "../../../../../epoch-comment"),
            ("专题", "../../../../../epoch-special"),
            ("禁闻", "../../../../../epoch-news"),
            ("禁书", "../../../../../books"),
        )
    )
    img = f"https://i.epochtimes.com/assets/uploads/2021/12/id{sid}-600x400.jpg"
    page = (
        f"### {title}\n\n---\n\n#### {nav}\n\n\n"
        f'<div><img alt="{escape(title)}" class="attachment-djy_600_400 wp-post-image" '
        f'src="{img}"/>\n<div class="caption">\n {w.sentence()}(AFP via Getty Images)\n</div></div>'
        '<hr/><div class="post_content" id="artbody" itemprop="articleBody">\n'
        " <!-- article content begin -->\n"
        f" <p>\n  【大纪元{d:%Y年%m月%d日}讯】（大纪元记者{w.name()}报导）{w.sentence()}\n </p>\n"
        f"{_pretty_paragraphs(html)}\n"
        f" <p>\n  责任编辑：{w.name()}#\n </p>\n"
        ' <!-- article content end -->\n <div id="below_article_ad">\n </div>\n</div>\n\n\n---\n\n'
        f"原文链接（需翻墙）：{url}\n"
    )
    return page, url


def _hexo_page(w: Writer, title: str, outlet: str, when: datetime, html: str) -> str:
    return _hexo_post(w, title, outlet, when, f"<div>   \n{html}\n  \n</div>\n            \n")


def _hexo_post(w: Writer, title: str, outlet: str, when: datetime, body: str) -> str:
    img = f"https://img.example-news.com/uploads/2021/12/{w.r.randint(10000, 99999)}.jpg"
    return (
        "\n---\n"
        f"title: '{title}'\n"
        f"categories: \n - 新媒体\n - {outlet}\n - 新闻\n"
        f"headimg: '{img}'\n"
        f"author: {outlet}\n"
        "comments: false\n"
        f"date: {format_datetime(when, usegmt=True)}\n"
        f"thumbnail: '{img}'\n"
        "---\n\n"
        f"{body}"
    )


_MD_IMAGE = re.compile(r'<p><img src="([^"]*)" alt="([^"]*)"/></p>')
_MD_LINK = re.compile(r'<a href="([^"]*)">([^<]*)</a>')


def _markdown_body(w: Writer, html: str) -> str:
    """The body as archives write it in Markdown: a paragraph a line, links and images in
    Markdown, now and then a bold phrase or a quoted paragraph."""
    out = []
    for p in html.split("\n"):
        if m := _MD_IMAGE.fullmatch(p):
            out.append(f"![{m[2]}]({m[1]})")
            continue
        text = _MD_LINK.sub(r"[\2](\1)", p.removeprefix("<p>").removesuffix("</p>"))
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        roll = w.r.random()
        if roll < 0.15:
            word = w.r.choice(WORDS)
            text = text.replace(word, f"**{word}**", 1)
        elif roll < 0.2:
            text = "> " + text
        out.append(text)
    return "\n\n".join(out) + "\n"


def _markdown_page(w: Writer, title: str, url: str, outlet: str, when: datetime, html: str) -> str:
    """A plain Markdown copy of an article, as GitHub archive repositories keep them."""
    d = when + _TZ8
    return (
        f"# {title}\n\n"
        f"原文链接：{url}\n"
        f"来源：{outlet}　作者：{w.name()}\n"
        f"发布时间：{d:%Y-%m-%d %H:%M}\n\n"
        f"{_markdown_body(w, html)}"
    )


def _archive_page(title: str, url: str, when: datetime, html: str) -> str:
    ms = int(when.timestamp() * 1000)
    d = when + _TZ8
    return (
        f"<!--{ms}-->\n[{title}]({url})\n------\n\n"
        f"<div>{d:%d/%m/%Y - %H:%M}</div>Array{html.replace(chr(10), '')}\n"
    )


# --- generation --------------------------------------------------------------------------------


def generate(spec: Spec, root: Path) -> Truth:
    """Write the corpus for ``spec`` into ``root`` (created) and return its ground truth."""
    rng = random.Random(spec.seed)
    w = Writer(rng)
    to_trad = _traditional()
    feeds_dir = root / "feeds"
    pages_dir = root / "mirror" / "pages"
    feeds_dir.mkdir(parents=True, exist_ok=True)
    pages_dir.mkdir(parents=True, exist_ok=True)

    total = spec.feeds * spec.items
    n_copies = round(total * spec.dup_share) if spec.feeds > 1 else 0
    # Which (feed, slot) positions hold copies: spread evenly, never a feed's first slot.
    slots = [(f, i) for f in range(spec.feeds) for i in range(1, spec.items)]
    copy_slots = set(rng.sample(slots, k=min(n_copies, len(slots))))

    truth = Truth(spec=asdict(spec), entries=total, stories=0, copies=0, variants={})
    originals: list[tuple[int, _Entry, str, int]] = []  # (sid, entry, kind, feed)
    feed_entries: list[list[_Entry | None]] = [[None] * spec.items for _ in range(spec.feeds)]
    sid = 0
    for f in range(spec.feeds):
        site, kind = OUTLETS[f % len(OUTLETS)]
        for i in range(spec.items):
            if (f, i) in copy_slots:
                continue
            sid += 1
            when = _T0 - timedelta(minutes=7 * i + (f % 60), seconds=sid % 60)
            title = w.title(sid)
            html = w.body_html(2048, 8192, images=rng.choice((1, 1, 2)))
            url = _story_url(kind, sid, when, "".join(rng.choices(WORDS, k=2)), f % 7)
            e = _Entry(
                sid=sid,
                title=title,
                url=url,
                html=html,
                summary=w.sentence(),
                when=when,
                author=w.name(),
                guid=f"bench-{f}-{sid}",
                tags=rng.sample(WORDS, k=2),
            )
            feed_entries[f][i] = e
            originals.append((sid, e, kind, f))
            truth.url_story[story_key_of(url)] = sid
    # Copies: a story from another feed, under a variant link (and script, for /b5/).
    for f, i in sorted(copy_slots):
        while True:
            osid, orig, kind, of = originals[rng.randrange(len(originals))]
            if of != f:
                break
        url, chosen = _variant(orig.url, kind, rng)
        for v in chosen:
            truth.variants[v] = truth.variants.get(v, 0) + 1
        b5 = "b5" in chosen
        feed_entries[f][i] = _Entry(
            sid=osid,
            title=to_trad(orig.title) if b5 else orig.title,
            url=url,
            html=to_trad(orig.html) if b5 else orig.html,
            summary=to_trad(orig.summary) if b5 else orig.summary,
            when=orig.when + timedelta(minutes=rng.randint(1, 90)),
            author=orig.author,
            guid=f"bench-{f}-copy-{osid}",
            tags=orig.tags,
        )
        truth.url_story[story_key_of(url)] = osid
        truth.copies += 1
    truth.stories = len(originals)
    truth.story_ids = sorted(s for s, *_ in originals)

    for f in range(spec.feeds):
        site, _kind = OUTLETS[f % len(OUTLETS)]
        entries = sorted(feed_entries[f], key=lambda e: e.when, reverse=True)
        name = f"f{f:04d}.xml"
        base = f"https://feeds.example-news.com/{name}"
        doc = (
            _atom(f, site, base, entries)
            if f % 3 == 2
            else _rss(f, site, base, entries, guid_is_link=f % 2 == 0)
        )
        (feeds_dir / name).write_text(doc, encoding="utf-8")
        truth.feed_paths.append(f"feeds/{name}")

    # Mirror pages: their own stories (numbered after the feeds'), newest last.
    lines = []
    for p in range(spec.mirror_pages):
        sid += 1
        fmt = MIRROR_FORMATS[p % len(MIRROR_FORMATS)]
        when = _T0 - timedelta(hours=spec.mirror_pages - p)
        title = w.title(sid)
        html = w.body_html(2048, 6144)
        if fmt == "epoch-mirror":
            doc, url = _epoch_page(w, sid, title, when, html)
            truth.url_story[story_key_of(url)] = sid
        elif fmt == "hexo":
            site, _ = OUTLETS[2 + p % 6]
            doc = _hexo_page(w, title, site, when, html)
            truth.title_story[title] = sid
        elif fmt == "hexo-markdown":
            site, _ = OUTLETS[2 + p % 6]
            doc = _hexo_post(w, title, site, when, _markdown_body(w, html))
            truth.title_story[title] = sid
        elif fmt == "markdown":
            site, kind = OUTLETS[2 + p % 6]
            url = _story_url(kind, sid, when, "".join(rng.choices(WORDS, k=2)), p % 7)
            doc = _markdown_page(w, title, url, site, when, html)
            truth.url_story[story_key_of(url)] = sid
        else:
            url = _story_url("rfi", sid, when, "".join(rng.choices(WORDS, k=2)), 0)
            doc = _archive_page(title, url, when, html)
            truth.url_story[story_key_of(url)] = sid
        name = f"p{p:04d}-{hashlib.sha1(title.encode()).hexdigest()[:10]}.md"
        (pages_dir / name).write_text(doc, encoding="utf-8")
        truth.page_paths.append(f"mirror/pages/{name}")
        truth.mirror_formats[fmt] = truth.mirror_formats.get(fmt, 0) + 1
        lines.append(f"- [{title}](pages/{name})")
    truth.mirror_pages = spec.mirror_pages
    truth.mirror_known = min(spec.mirror_known, spec.mirror_pages)
    truth.mirror_new = truth.mirror_pages - truth.mirror_known
    header = "# 镜像文章索引\n\n最新文章在前。\n\n"
    # New pages are added at the end of `lines`; an index lists the newest first.
    for n in {truth.mirror_known, truth.mirror_pages}:
        body = "\n".join(reversed(lines[:n]))
        (root / "mirror" / f"index-{n}.md").write_text(header + body + "\n", encoding="utf-8")
    (root / "truth.json").write_text(
        json.dumps(asdict(truth), ensure_ascii=False), encoding="utf-8"
    )
    return truth


def _traditional():
    from monitor.text import to_traditional

    return to_traditional


def load_truth(root: Path) -> Truth:
    return Truth(**json.loads((root / "truth.json").read_text(encoding="utf-8")))


def ensure(spec: Spec, cache: Path = DEFAULT_CACHE) -> tuple[Path, Truth]:
    """The corpus directory for ``spec`` under ``cache`` (generated on first use)."""
    root = Path(cache) / spec.key
    if (root / "truth.json").exists():
        return root, load_truth(root)
    tmp = root.with_name(root.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    truth = generate(spec, tmp)
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    return root, truth


def main(argv: list[str] | None = None) -> None:
    import argparse
    import time

    ap = argparse.ArgumentParser(description="Generate (or find cached) a benchmark corpus.")
    ap.add_argument("--feeds", type=int, default=Spec.feeds)
    ap.add_argument("--items", type=int, default=Spec.items)
    ap.add_argument("--mirror-pages", type=int, default=Spec.mirror_pages)
    ap.add_argument("--mirror-known", type=int, default=Spec.mirror_known)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    a = ap.parse_args(argv)
    started = time.perf_counter()
    root, truth = ensure(
        Spec(a.feeds, a.items, mirror_pages=a.mirror_pages, mirror_known=a.mirror_known), a.cache
    )
    print(
        f"{root}: {truth.entries} entries, {truth.stories} stories, {truth.copies} copies "
        f"{truth.variants}, {truth.mirror_pages} mirror pages "
        f"({time.perf_counter() - started:.1f}s)"
    )


if __name__ == "__main__":
    main()
