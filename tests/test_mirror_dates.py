"""Dates as Chinese mirror pages write them, read to the instant the page means."""

import pytest

from monitor.parsers import dates, parse

BODY = (
    "美国总统拜登周五表示，他已经警告俄罗斯总统普京。对乌克兰采取行动将引发制裁。"
    "白宫发表声明称双方进行了坦率交流。\n"
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022-01-03 10:20 (北京时间)", "2022-01-03T02:20:00Z"),
        ("2022-01-03 10:20（北京時間）", "2022-01-03T02:20:00Z"),
        ("北京时间2022年1月3日 10时20分", "2022-01-03T02:20:00Z"),
        ("北京时间 2022年1月3日 下午3:20", "2022-01-03T07:20:00Z"),
        ("2022/1/3 10:20:00 台北時間", "2022-01-03T02:20:00Z"),
        ("北京时间2022年1月3日", "2022-01-03"),
    ],
)
def test_china_time_in_words_is_utc_plus_8_whatever_the_sources_zone(value, expected):
    with dates.source_zone("America/New_York"):
        assert dates.parse_when(value) == expected


def test_a_markdown_pages_date_line_in_beijing_time_is_its_time_and_not_its_text():
    head = "# 标题\n\n原文链接：https://example.com/a.html\n日期：2022-01-03 10:20 (北京时间)\n\n"
    doc = head + BODY
    [item] = parse(doc.encode())
    assert item.published == "2022-01-03T02:20:00Z"
    assert item.text.startswith("美国总统")
