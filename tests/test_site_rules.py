"""The shipped site rules against URL shapes the outlets publish: every edition of one
article (AMP, lite) is one key."""

import pytest

from monitor.canonical import SiteRules

RULES = SiteRules.load_default()


@pytest.mark.parametrize(
    "urls",
    [
        (
            "https://www.bbc.com/zhongwen/simp/world-59573574",
            "https://www.bbc.com/zhongwen/simp/world-59573574.amp",
            "https://www.bbc.com/zhongwen/trad/world-59573574.lite",
        ),
        (
            "https://www.bbc.com/zhongwen/articles/c0kdj1e9xego/simp",
            "https://www.bbc.com/zhongwen/articles/c0kdj1e9xego/simp.amp",
            "https://www.bbc.com/zhongwen/articles/c0kdj1e9xego.amp",
        ),
        (
            "https://www.voachinese.com/a/biden-putin-20211230/6376012.html",
            "https://www.voachinese.com/amp/biden-putin-20211230/6376012.html",
            "https://www.voachinese.com/amp/6376012.html",
        ),
    ],
    ids=["bbc", "bbc-articles", "voa"],
)
def test_an_articles_amp_and_lite_editions_have_its_key(urls):
    keys = {RULES.key_for(u) for u in urls}
    assert len(keys) == 1 and None not in keys
