"""Recognising one story across places without joining two: the review's cases."""

from datetime import UTC, datetime

import pytest

from monitor import store
from monitor.canonical import SiteRules, assign_keys
from monitor.models import Item
from monitor.store import Sighting, save_items

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
RULES = SiteRules.load_default()

BEIJING = (
    "北京市今天宣布新的防疫措施，要求所有进京人员出示四十八小时内核酸检测阴性证明。"
    "市政府表示措施将持续到二月底。多名市民对记者表示对此感到不便。"
)
HONG_KONG = (
    "香港立法会今天通过一项新的法案，规定所有公务员必须宣誓效忠特区政府。"
    "反对者认为这将压制言论自由。政府发言人否认了这一说法。"
)


def item(title, url=None, site=None, text=""):
    return assign_keys(Item(title=title, format="test", url=url, site=site, text=text), RULES)


@pytest.fixture
def db(tmp_path):
    return store.open_db(tmp_path / "m.db")


def stories(db):
    return db.conn.execute("SELECT count(*) FROM items").fetchone()[0]


def test_a_link_less_copy_joins_the_story_it_copies_when_two_linked_ones_share_its_title(db):
    rfa = "https://www.rfa.org/mandarin/yataibaodao/"
    first = item("新闻简讯", rfa + "a-01012022.html", "自由亚洲电台", BEIJING)
    second = item("新闻简讯", rfa + "b-01022022.html", "自由亚洲电台", HONG_KONG)
    saved = save_items(db, [(first, Sighting("s", "1")), (second, Sighting("s", "2"))], now=NOW)
    copy = item("新闻简讯", None, "自由亚洲电台", HONG_KONG)
    [merged] = save_items(db, [(copy, Sighting("import", "c.md"))], now=NOW)
    assert merged.item_id == saved[1].item_id


def test_a_link_less_copy_with_other_text_joins_neither_of_two_linked_namesakes(db):
    rfa = "https://www.rfa.org/mandarin/yataibaodao/"
    first = item("新闻简讯", rfa + "a-01012022.html", "自由亚洲电台", BEIJING)
    second = item("新闻简讯", rfa + "b-01022022.html", "自由亚洲电台", HONG_KONG)
    save_items(db, [(first, Sighting("s", "1")), (second, Sighting("s", "2"))], now=NOW)
    other = (
        "台湾今天举行地方选举，投票率创下近年新高。选务机关表示计票工作顺利。各党派均表示尊重结果。"
    )
    [saved] = save_items(
        db, [(item("新闻简讯", None, "自由亚洲电台", other), Sighting("i", "x"))], now=NOW
    )
    assert saved.status == "new" and stories(db) == 3


FOOTER = (
    "本文转载自网络，版权归原作者所有。如有侵权请联系我们删除。欢迎关注我们的频道获取更多新闻。"
)


@pytest.mark.parametrize(
    "urls",
    [
        ("https://t.me/somechannel/101", "https://t.me/somechannel/102"),
        (
            "https://www.epochtimes.com/gb/22/1/3/n13480001.htm",
            "https://www.epochtimes.com/b5/22/1/4/n13480002.htm",
        ),
    ],
    ids=["one-host", "one-site-rule"],
)
def test_two_briefs_of_one_site_sharing_a_footer_stay_two_stories(db, urls):
    briefs = [
        item("北京宣布新防疫措施", urls[0], "某频道", BEIJING.split("。")[0] + "。" + FOOTER),
        item("香港通过宣誓法案", urls[1], "某频道", HONG_KONG.split("。")[0] + "。" + FOOTER),
    ]
    saved = save_items(db, [(b, Sighting("s", b.url)) for b in briefs], now=NOW)
    assert [s.status for s in saved] == ["new", "new"]


def test_a_copy_on_another_site_still_joins_by_content(db):
    original = item("北京宣布新防疫措施", "https://t.me/somechannel/101", "某频道", BEIJING)
    repost = item(
        "转载", "https://blog.example/p/9", "某博客", "【转载】" + BEIJING + "（责任编辑：某某）"
    )
    saved = save_items(db, [(original, Sighting("a", "1")), (repost, Sighting("b", "2"))], now=NOW)
    assert [s.status for s in saved] == ["new", "merged"]


def test_a_wechat_short_link_and_share_link_of_one_article_still_meet_by_content(db):
    share = "https://mp.weixin.qq.com/s?__biz=MzA&mid=2651&idx=1&sn=" + "0123456789abcdef" * 2
    short = "https://mp.weixin.qq.com/s/AbCdEfGhIjKlMnOpQrStUv"
    saved = save_items(
        db,
        [
            (item("北京宣布新防疫措施", share, "某观察", BEIJING), Sighting("feed", "1")),
            (item("北京宣布新防疫措施", short, "某观察", BEIJING), Sighting("archive", "2")),
        ],
        now=NOW,
    )
    assert [s.status for s in saved] == ["new", "merged"]
