from importlib import resources
from pathlib import Path

import pytest

from monitor.canonical import (
    TRACKING_PARAMS,
    SiteRule,
    SiteRules,
    assign_keys,
    canonical_url,
    url_key,
)
from monitor.models import Item

SEEDS = Path(__file__).resolve().parent.parent / "seeds"

EPOCH_GB = "https://www.epochtimes.com/gb/21/12/31/n13473224.htm"
EPOCH_B5_UTM = "https://www.epochtimes.com/b5/21/12/31/n13473224.htm?utm_source=rss"
EPOCH_NAV = "../../../..?n13473224"
# As written in seeds/004 (already canonical).
RFI = (
    "https://www.rfi.fr/cn/%E6%AC%A7%E6%B4%B2/20220128-%E7%BE%8E%E4%B9%8C%E6%80%BB%E7%BB%9F"
    "%E6%96%B0%E5%B9%B4%E6%9D%A5%E4%BA%8C%E5%BA%A6%E9%80%9A%E8%AF%9D-%E6%8B%9C%E7%99%BB%E8%AD"
    "%A6%E5%91%8A%E4%BF%84%E7%BD%97%E6%96%AF%E6%98%8E%E6%98%BE%E5%8F%AF%E8%83%BD2%E6%9C%88%E5"
    "%85%A5%E4%BE%B5%E4%B9%8C%E5%85%8B%E5%85%B0"
)


@pytest.fixture(scope="module")
def rules() -> SiteRules:
    return SiteRules.load_default()


def test_seed_urls_are_the_ones_tested():
    assert RFI in (SEEDS / "004_422941471d0b9345.txt").read_text("utf-8")
    epoch_seed = (SEEDS / "000_ebf68263cc861490.txt").read_text("utf-8")
    assert EPOCH_GB in epoch_seed
    assert f"]({EPOCH_NAV})" in epoch_seed


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (RFI, RFI),
        (EPOCH_GB, EPOCH_GB),
        # case: scheme and host only, never the path
        ("HTTPS://WWW.Example.COM/Path/A", "https://www.example.com/Path/A"),
        # default ports go, others stay
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com:/a", "https://example.com/a"),
        # scheme kept
        ("http://example.com/a", "http://example.com/a"),
        # fragment dropped
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://example.com/a?x=1#top", "https://example.com/a?x=1"),
        # empty path, surrounding whitespace
        ("https://example.com", "https://example.com/"),
        ("https://example.com?b=1", "https://example.com/?b=1"),
        ("  https://example.com/a \n", "https://example.com/a"),
        # tracking parameters, utm_* by prefix and case-insensitively
        ("https://e.com/a?utm_source=rss&utm_medium=feed", "https://e.com/a"),
        ("https://e.com/a?UTM_Source=x&utm_whatever=y&id=3", "https://e.com/a?id=3"),
        ("https://e.com/a?fbclid=1&gclid=2&msclkid=3&id=4", "https://e.com/a?id=4"),
        ("https://e.com/a?spm=a.b.c&scm=1&vd_source=z&share=1", "https://e.com/a"),
        ("https://e.com/a?mc_cid=1&mc_eid=2&_ga=3&xtor=RSS-1&igshid=4", "https://e.com/a"),
        ("https://e.com/a?at_medium=RSS&at_campaign=KARANGA", "https://e.com/a"),
        # "from" and "ref" are real parameters on some sites
        ("https://e.com/a?from=groupmessage&ref=x", "https://e.com/a?from=groupmessage&ref=x"),
        # sorted by name, stable for repeats, blank values and bare names kept
        ("https://e.com/a?b=2&a=1", "https://e.com/a?a=1&b=2"),
        ("https://e.com/a?b=2&a=1&b=1", "https://e.com/a?a=1&b=2&b=1"),
        ("https://e.com/a?c&b=&a=1", "https://e.com/a?a=1&b=&c"),
        ("https://e.com/a?&&b=1&", "https://e.com/a?b=1"),
        # percent-encoding: uppercase hex, raw non-ASCII encoded, unreserved decoded
        ("https://www.rfi.fr/cn/%e6%ac%a7", "https://www.rfi.fr/cn/%E6%AC%A7"),
        ("https://www.rfi.fr/cn/欧", "https://www.rfi.fr/cn/%E6%AC%A7"),
        ("https://e.com/%7Euser/%41b%2d", "https://e.com/~user/Ab-"),
        ("https://e.com/a%2fb?q=%e4%b8%ad&x=a%26b", "https://e.com/a%2Fb?q=%E4%B8%AD&x=a%26b"),
        ("https://e.com/a b?q=中 文", "https://e.com/a%20b?q=%E4%B8%AD%20%E6%96%87"),
        ("https://e.com/100%", "https://e.com/100%25"),
        # IDNA host
        ("https://Bücher.example/", "https://xn--bcher-kva.example/"),
        # relative nav links are normalized host-less, not made absolute
        (EPOCH_NAV, EPOCH_NAV),
        ("", ""),
    ],
)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    "variants",
    [
        [
            "https://www.rfi.fr/cn/%e6%ac%a7",
            "https://www.rfi.fr/cn/%E6%AC%A7",
            "https://www.rfi.fr/cn/欧",
            "HTTPS://WWW.RFI.FR:443/cn/欧#x",
        ],
        [
            "https://e.com/a?b=1&a=2&utm_source=x",
            "https://e.com/a?a=2&b=1",
            "https://E.com:443/a?fbclid=z&a=2&b=1#frag",
        ],
    ],
)
def test_canonical_url_equivalences(variants):
    assert len({canonical_url(u) for u in variants}) == 1


def test_canonical_url_is_idempotent():
    for url in [RFI, "https://www.rfi.fr/cn/欧?b=&a=1", "https://e.com/100%", EPOCH_NAV]:
        once = canonical_url(url)
        assert canonical_url(once) == once


def test_tracking_params_leave_real_ones_alone():
    assert "from" not in TRACKING_PARAMS
    assert "utm_source" not in TRACKING_PARAMS  # handled by the utm_ prefix rule
    assert canonical_url("https://e.com/?utm_x=1") == "https://e.com/"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("http://www.rfi.fr/cn/欧", "https://www.rfi.fr/cn/%e6%ac%a7", True),
        ("http://e.com:80/a?utm_source=x", "https://e.com:443/a", True),
        ("https://e.com/a", "https://e.com/b", False),
        ("https://e.com/a", "https://f.com/a", False),
        ("http://e.com:8080/a", "https://e.com/a", False),
    ],
)
def test_url_key(a, b, same):
    assert (url_key(a) == url_key(b)) is same


def test_url_key_shape():
    assert url_key("HTTPS://E.com") == "//e.com/"
    assert url_key(RFI) == RFI.removeprefix("https:")
    assert url_key(EPOCH_NAV) == EPOCH_NAV


@pytest.mark.parametrize(
    "url",
    [
        EPOCH_GB,
        EPOCH_B5_UTM,
        "http://www.epochtimes.com/gb/21/12/31/n13473224.htm",
        "HTTPS://WWW.EPOCHTIMES.COM/gb/21/12/31/n13473224.htm#comments",
        "https://www.epochtimes.com/gb/21/12/31/n13473224.html",
        "https://www.epochtimes.com/gb/n13473224.htm",
    ],
)
def test_epochtimes_forms_share_one_key(rules, url):
    assert rules.key_for(url) == "epochtimes:n13473224"
    assert rules.key_for(url, from_mirror=True) == "epochtimes:n13473224"


@pytest.mark.parametrize(
    "url",
    [
        EPOCH_NAV,
        "../../../../../epoch-comment?n13473224",
        "https://somemirror.example/pages/x/y?n13473224",
        "https://github.com/gfw-breaker/nogfw/blob/master/README.md?n13473224",
        "https://somemirror.example/page?utm_source=tw&n13473224",  # utm dropped first
    ],
)
def test_epochtimes_mirror_link_forms_share_one_key_only_as_mirror_links(rules, url):
    assert rules.key_for(url, from_mirror=True) == "epochtimes:n13473224"
    assert rules.key_for(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://www.epochtimes.com/gb/tag/%E7%BE%8E%E5%9B%BD.html",  # tag page, from seeds/000
        "https://i.epochtimes.com/assets/uploads/2021/12/id13425060-GettyImages-1237071062-600x400.jpg",
        "https://example.com/gb/21/12/31/n13473224.htm",  # not an Epoch Times host
        "https://example.com/page?n123456",  # too short for an article number
        "https://example.com/page?n1234567890",  # too long
        "https://example.com/page?id=n13473224",
        "https://example.com/page?a=1&n13473224",
        "https://example.com/n13473224",
    ],
)
def test_epochtimes_negatives(rules, url):
    assert rules.key_for(url, from_mirror=True) is None


WX_SN = "8b5a7b1dbf9c2b0d6e0d7a1b5c3d9e2f"
POSITIVE = [
    ("https://www.ntdtv.com/gb/2021/12/31/a103304353.html", "ntdtv:a103304353"),
    ("https://www.ntdtv.com/b5/2021/12/31/a103304353.html?utm_source=x", "ntdtv:a103304353"),
    ("https://www.bbc.com/zhongwen/simp/world-59573574", "bbc:59573574"),
    (
        "https://www.bbc.com/zhongwen/trad/world-59573574?at_medium=RSS&at_campaign=KARANGA",
        "bbc:59573574",
    ),
    ("https://www.bbc.com/zhongwen/articles/c0kdj1e9xego/simp", "bbc:c0kdj1e9xego"),
    ("https://www.bbc.com/zhongwen/articles/c0kdj1e9xego/trad", "bbc:c0kdj1e9xego"),
    ("https://www.dw.com/zh/拜登与普京通话/a-60305640", "dw:60305640"),
    ("https://www.dw.com/zh-hant/%E6%8B%9C%E7%99%BB/a-60305640", "dw:60305640"),
    ("https://www.voachinese.com/a/biden-putin-call-20211231/6376012.html", "voa:6376012"),
    ("https://www.voachinese.com/a/6376012.html", "voa:6376012"),
    ("https://cn.nytimes.com/world/20220103/china-covid/", "nytimes:20220103/china-covid"),
    ("https://www.voachinese.com/a/biden-putin-6376012.html", "voa:6376012"),
    ("https://www.guancha.cn/internation/2021_12_01_616933.shtml", "guancha:2021_12_01_616933"),
    ("https://m.guancha.cn/internation/2021_12_01_616933_s.shtml", "guancha:2021_12_01_616933"),
    ("https://www.zaobao.com/news/china/story20211231-1229443", "zaobao:20211231-1229443"),
    ("https://www.zaobao.com.sg/realtime/china/story20211231-1229443", "zaobao:20211231-1229443"),
    # WeChat: a share link's click state (chksm, scene, …) around the article's signature
    (
        f"https://mp.weixin.qq.com/s?__biz=MzI1NjA0MDg2Mw==&mid=2650721389&idx=1&sn={WX_SN}"
        "&chksm=f1a2b3c4d5e6&scene=21#wechat_redirect",
        f"wechat:{WX_SN}",
    ),
    # as an archive copies it out of HTML, "&amp;" and all
    (
        f"http://mp.weixin.qq.com/s?__biz=MzI1NjA0MDg2Mw==&amp;mid=2650721389&amp;idx=1&amp;"
        f"sn={WX_SN}&amp;chksm=99aa&amp;scene=0",
        f"wechat:{WX_SN}",
    ),
    (f"https://MP.WEIXIN.QQ.COM/s?sn={WX_SN}&__biz=MzI1NjA0MDg2Mw==", f"wechat:{WX_SN}"),
    ("https://mp.weixin.qq.com/s/Ab3dEfGhIjKlMnOpQrStUv", "wechat:Ab3dEfGhIjKlMnOpQrStUv"),
    ("https://mp.weixin.qq.com/s/Ab3dEfGhIjKlMnOpQrStUv?scene=25", "wechat:Ab3dEfGhIjKlMnOpQrStUv"),
]
NEGATIVE = [
    "https://www.ntdtv.com/gb/instant-news.html",
    "https://www.example.com/gb/2021/12/31/a103304353.html",
    "https://www.bbc.com/news/world-europe-59573574",  # English BBC
    "https://www.bbc.com/zhongwen/simp",
    "https://www.dw.com/zh/在线报导/s-9058",
    "https://www.voachinese.com/z/1757",
    "https://i.guancha.cn/news/2021/12/08/20211208092535932.jpeg",  # from seeds/003
    "https://www.zaobao.com.sg/realtime/china",
    RFI,  # hosts-only rules never make a rule key
    "https://chinese.aljazeera.net/news/2021/12/8/担心战争爆发",
    "https://www.rfa.org/mandarin/yataibaodao/junshiwaijiao/a-12312021123456.html",
    "https://mp.weixin.qq.com/s?__biz=MzI1NjA0MDg2Mw==&mid=2650721389&idx=1",  # no signature
    f"https://mp.weixin.qq.com/s?__biz=x&xsn={WX_SN}",
    f"https://mp.weixin.qq.com/s?__biz=x#sn={WX_SN}",
    "https://mp.weixin.qq.com.example/s/Ab3dEfGhIjKlMnOpQrStUv",
    "https://mp.weixin.qq.com/s/short",
]


@pytest.mark.parametrize(("url", "key"), POSITIVE)
def test_rule_positive(rules, url, key):
    assert rules.key_for(url) == key


@pytest.mark.parametrize("url", NEGATIVE)
def test_rule_negative(rules, url):
    assert rules.key_for(url) is None


def test_every_shipped_pattern_rule_is_tested(rules):
    with_patterns = {r.key_prefix for r in rules if r.patterns}
    tested = {k.partition(":")[0] for _, k in POSITIVE} | {"epochtimes"}
    assert with_patterns == tested


@pytest.mark.parametrize(
    ("url", "site"),
    [
        (RFI, "RFI"),
        (EPOCH_GB, "大纪元"),
        ("https://www.epochtimes.com.tw/n123/x.html", "大纪元"),
        ("https://www.epochweekly.com/b5/768/1.htm", "大纪元"),
        ("https://www.ntdtv.com/gb/2021/12/31/a103304353.html", "新唐人"),
        ("https://www.bbc.com/zhongwen/simp/world-59573574", "BBC 中文"),
        ("https://www.bbc.co.uk/zhongwen/trad", "BBC 中文"),
        ("https://www.dw.com/zh-hant/x/a-60305640", "DW 中文"),
        ("https://www.voachinese.com/a/6376012.html", "美国之音"),
        ("https://chinese.aljazeera.net/news/2021/12/8/x", "Aljazeera 半岛网"),
        ("https://www.guancha.cn/internation/2021_12_01_616933.shtml", "观察者网"),
        ("https://www.rfa.org/mandarin/yataibaodao/x.html", "自由亚洲电台"),
        ("https://www.zaobao.com.sg/realtime/china", "联合早报"),
        ("HTTPS://WWW.RFI.FR/cn/", "RFI"),
        # no match
        ("https://www.bbc.com/news/world-59573574", None),
        ("https://www.bbc.com/zhongwenx/simp", None),
        ("https://www.dw.com/en/x/a-60305640", None),
        ("https://www.rfa.org/english/news", None),
        ("https://www.aljazeera.net/news", None),
        ("https://notepochtimes.com/gb/x.htm", None),
        ("https://epochtimes.com.example/", None),
        (EPOCH_NAV, None),
        # a WeChat article's outlet is its account, which the feed or page names
        ("https://mp.weixin.qq.com/s/Ab3dEfGhIjKlMnOpQrStUv", None),
        ("", None),
    ],
)
def test_site_for(rules, url, site):
    assert rules.site_for(url) == site


def test_default_rules_are_packaged():
    assert resources.files("monitor").joinpath("sites.toml").is_file()
    rules = SiteRules.load_default()
    names = [r.name for r in rules]
    assert len(names) == len(set(names))
    assert {"大纪元", "新唐人", "RFI", "BBC 中文", "DW 中文", "美国之音"} <= set(names)


def test_extended_config_rules_take_precedence(rules):
    config = SiteRules.from_dicts(
        [
            # same name as a default: replaces it
            {"name": "大纪元", "key_prefix": "djy", "hosts": ["epochtimes.com"],
             "patterns": [r"/(?P<id>n\d+)\.htm"]},
            # overlaps a default host: tried first
            {"name": "BBC", "key_prefix": "bbcx", "hosts": ["bbc.com"],
             "patterns": [r"bbc\.com/.*-(\d+)$"]},
        ]
    )  # fmt: skip
    merged = rules.extended(config)
    assert merged.key_for(EPOCH_GB) == "djy:n13473224"
    assert merged.key_for(EPOCH_NAV) is None  # the default nav pattern went with its rule
    assert merged.key_for("https://www.bbc.com/zhongwen/simp/world-1234567") == "bbcx:1234567"
    assert merged.site_for("https://www.bbc.com/zhongwen/simp/x") == "BBC"
    assert merged.key_for("https://www.dw.com/zh/x/a-60305640") == "dw:60305640"
    assert [r.name for r in merged].count("大纪元") == 1
    assert rules.key_for(EPOCH_GB) == "epochtimes:n13473224"  # defaults untouched


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"key_prefix": "x", "hosts": ["x.com"]}, r"^site #1: key 'name': is required"),
        ({"name": "  ", "hosts": ["x.com"]}, r"key 'name': must not be empty"),
        ({"name": "坏", "key_prefix": "x", "patterns": ["(unclosed"]}, r"'坏'.*'patterns'"),
        ({"name": "坏", "key_prefix": "x", "patterns": [r"n\d+"]}, r"'坏'.*'patterns'.*group"),
        ({"name": "坏", "key_prefix": "x", "patterns": "(n\\d+)"}, r"'坏'.*'patterns'"),
        ({"name": "坏", "hosts": "x.com"}, r"'坏'.*'hosts'"),
        ({"name": "坏", "hosts": ["x.com", 3]}, r"'坏'.*'hosts'"),
        ({"name": "坏", "hosts": ["x.com"], "pattern": ["(x)"]}, r"'坏'.*'pattern'"),
        ({"name": "坏", "hosts": ["x.com"], "patterns": [r"(\d+)"]}, r"'坏'.*'key_prefix'"),
        ({"name": "坏"}, r"'坏'.*'hosts'"),
    ],
)
def test_bad_rule_data(data, match):
    with pytest.raises(ValueError, match=match):
        SiteRules.from_dicts([data])


def test_bad_rule_reports_its_position():
    with pytest.raises(ValueError, match="^site #2: key 'name'"):
        SiteRules.from_dicts([{"name": "好", "hosts": ["ok.com"]}, {"hosts": ["x.com"]}])


def test_rule_named_group_wins_over_first_group():
    rule = SiteRule.from_dict(
        {"name": "X", "key_prefix": "x", "patterns": [r"/(gb|b5)/(?P<id>\d+)"]}
    )
    assert SiteRules((rule,)).key_for("https://x.com/b5/42") == "x:42"


def item(**kw) -> Item:
    return Item(**{"title": "拜登普京本月第二度通话 双方互发警告", "format": "html", **kw})


def test_assign_keys_url_with_rule(rules):
    it = item(url=EPOCH_B5_UTM)
    assert assign_keys(it, rules) is it
    assert it.canonical_url == "https://www.epochtimes.com/b5/21/12/31/n13473224.htm"
    assert it.site == "大纪元"
    assert it.story_key == "epochtimes:n13473224"
    assert it.title_key == "title:大纪元:拜登普京本月第二度通话双方互发警告"


def test_assign_keys_rule_key_from_alt_urls(rules):
    it = item(url="https://mirror.example/pages/x.md", alt_urls=["", EPOCH_NAV], site="大纪元")
    it.format = "epoch-mirror"  # its alt_urls are a mirror page's nav links
    assign_keys(it, rules)
    assert it.story_key == "epochtimes:n13473224"
    assert it.canonical_url == "https://mirror.example/pages/x.md"
    assert it.site == "大纪元"


def test_wechat_share_links_of_one_article_are_one_story(rules):
    """A feed's link and an archive's link differ in click state; the account stays the outlet."""
    base = f"https://mp.weixin.qq.com/s?__biz=MzI1NjA0MDg2Mw==&mid=2650721389&idx=1&sn={WX_SN}"
    from_feed = item(
        url=base + "&chksm=f1a2b3c4&scene=126&sessionid=1640995200#rd", site="某某观察"
    )
    archived = item(url=base.replace("&", "&amp;") + "&amp;chksm=0a0b0c0d&amp;scene=21")
    assign_keys(from_feed, rules)
    assign_keys(archived, rules)
    assert from_feed.story_key == archived.story_key == f"wechat:{WX_SN}"
    assert from_feed.site == "某某观察"
    assert archived.site is None


def test_assign_keys_url_without_rule(rules):
    it = assign_keys(item(title="美乌总统新年来二度通话", url=RFI), rules)
    assert it.canonical_url == RFI
    assert it.site == "RFI"
    assert it.story_key == "url:" + url_key(RFI)
    assert it.story_key.startswith("url://www.rfi.fr/cn/%E6%AC%A7")
    assert it.title_key == "title:rfi:美乌总统新年来二度通话"
    other = assign_keys(item(url="http://www.rfi.fr/cn/欧洲/" + RFI.split("/")[-1]), rules)
    assert other.story_key == it.story_key


def test_assign_keys_keeps_given_site_where_no_rule_names_the_outlet(rules):
    it = assign_keys(item(url="https://news.example.org/a/1.html", site="法广"), rules)
    assert it.site == "法广"
    assert it.title_key.startswith("title:法广:")
    # A rule's name wins on its hosts (see tests/test_outlet_names.py).
    assert assign_keys(item(url=RFI, site="法广"), rules).site == "RFI"


@pytest.mark.parametrize(
    "title",
    [
        "拜登警告俄罗斯 明显可能2月入侵乌克兰",
        "拜登警告俄羅斯：明顯可能２月入侵烏克蘭",
        "拜登警告俄罗斯，明显可能2月入侵乌克兰！",
        "  拜登警告俄罗斯——明显可能 2 月入侵乌克兰 ",
    ],
)
@pytest.mark.parametrize("site", ["BBC 中文", "ＢＢＣ中文", "bbc 中文"])
def test_assign_keys_no_url_uses_title_key(rules, title, site):
    it = assign_keys(item(title=title, site=site), rules)
    assert it.canonical_url is None
    assert it.title_key == "title:bbc中文:拜登警告俄罗斯明显可能2月入侵乌克兰"
    assert it.story_key == it.title_key


def test_assign_keys_no_url_no_site(rules):
    it = assign_keys(item(title="拜登警告俄羅斯！", url="  "), rules)
    assert (it.canonical_url, it.site, it.title_key) == (None, None, None)
    assert it.story_key == "title::拜登警告俄罗斯"


def test_stories_with_no_url_and_no_outlet_share_a_key_only_with_the_same_text(rules):
    """Two archives' "声明" with other texts were one story, and the second text was lost;
    the same text, spaced or punctuated otherwise, is still the same story."""

    def key(text: str) -> str:
        return assign_keys(item(title="声明", url=None, text=text), rules).story_key

    first = key("本公司从未发布上述消息。请读者注意甄别。")
    assert first.startswith("title::声明#")
    assert key("本公司从未发布上述消息 请读者注意甄别") == first
    assert key("本刊编辑部郑重声明：以下内容与本刊无关。") != first
    assert key("") == "title::声明"


def test_assign_keys_is_idempotent(rules):
    it = assign_keys(item(url=EPOCH_GB), rules)
    before = it.to_dict()
    assert assign_keys(it, rules).to_dict() == before
