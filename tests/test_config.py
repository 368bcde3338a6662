from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import ConfigError, load_config, parse_config, parse_duration

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path, text):
    p = tmp_path / "monitor.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_shipped_config_loads():
    config = load_config(ROOT / "config" / "monitor.toml")
    names = [s.name for s in config.sources]
    assert "seeds" in names and len(names) >= 6
    seeds = config.source("seeds")
    assert seeds.kind == "dir" and seeds.path == (ROOT / "seeds").resolve()
    assert {s.kind for s in config.sources} == {"dir", "feed"}
    assert config.settings.timezone == "Asia/Shanghai"


def test_source_defaults_and_values(tmp_path):
    p = write(
        tmp_path,
        """
[[source]]
name = "rfi"
kind = "feed"
url = "https://www.rfi.fr/cn/rss"

[[source]]
name = "bridge"
kind = "mirror"
url = "https://mirror.example/index.csv"
interval = "2h"
enabled = false
headers = { Cookie = "a=b" }
proxy = "socks5://127.0.0.1:1080"
page_url = "https://mirror.example/p/{id}.md"
timezone = "Asia/Shanghai"
""",
    )
    rfi, bridge = load_config(p).sources
    assert rfi.interval == timedelta(minutes=30) and rfi.enabled and rfi.proxy is None
    assert rfi.timezone is None and bridge.timezone == "Asia/Shanghai"
    assert bridge.interval == timedelta(hours=2) and not bridge.enabled
    assert bridge.headers == {"Cookie": "a=b"} and bridge.proxy.startswith("socks5://")


@pytest.mark.parametrize(
    "body, message",
    [
        (
            '[[source]]\nname="a"\nkind="feed"\nurl="https://x.example/"\ncolour="red"',
            "source 'a': key 'colour': unknown key",
        ),
        (
            '[[source]]\nname="a"\nkind="feed"\nurl="https://x.example/"\ninterval=true',
            "source 'a': key 'interval'",
        ),
        (
            '[[source]]\nname="a"\nkind="feed"\nurl="https://x.example/"\nenabled="yes"',
            "source 'a': key 'enabled': expected bool",
        ),
        (
            '[[source]]\nname="a"\nkind="feed"\nurl="https://x.example/"\n'
            '[[source]]\nname="a"\nkind="feed"\nurl="https://y.example/"',
            "source 'a': key 'name': duplicate source name",
        ),
        ('[[source]]\nname="a"\nkind="feed"\nurl="ftp://x.example/f"', "source 'a': key 'url'"),
        (
            '[[source]]\nname="a"\nkind="feed"\nurll="https://x.example/"',
            "source 'a': key 'url': is required for kind 'feed' "
            "(the table has 'urll': a misspelling of 'url'?)",
        ),
        ('[[source]]\nname="a"\nkind="feed"\nurl="not a url"', "source 'a': key 'url'"),
        (
            '[[source]]\nname="a"\nkind="feed"\nurl="http://exa mple.com/feed"',
            "source 'a': key 'url': 'http://exa mple.com/feed' has no valid host name",
        ),
        (
            '[[source]]\nname="a"\nkind="feed"\nurl="https://x.example:99999/"',
            "source 'a': key 'url': 'https://x.example:99999/': Port out of range",
        ),
        (
            '[[source]]\nname="a"\nkind="feed"\nurl="http://[::1/feed"',
            "source 'a': key 'url': 'http://[::1/feed': Invalid IPv6 URL",
        ),
        (
            '[[source]]\nname="a"\nkind="feed"\nurl="http://x.example/"\nproxy="http://[zz]:1080"',
            "source 'a': key 'proxy': 'http://[zz]:1080'",
        ),
        ('[[source]]\nname="a"\nkind="rss"\nurl="https://x.example/"', "source 'a': key 'kind'"),
        ('[[source]]\nkind="feed"\nurl="https://x.example/"', "source #1: key 'name': is required"),
        ('[[source]]\nname="a"\nkind="feed"', "source 'a': key 'url': is required"),
        (
            '[[source]]\nname="a"\nkind="feed"\nurl="https://x.example/"\nproxy="bogus"',
            "source 'a': key 'proxy'",
        ),
        (  # httpx has no SOCKS4: every poll failed with a traceback
            '[[source]]\nname="a"\nkind="feed"\nurl="https://x.example/"\n'
            'proxy="socks4://127.0.0.1:1080"',
            "source 'a': key 'proxy': 'socks4://127.0.0.1:1080' is not an "
            "http/https/socks5/socks5h URL",
        ),
        ('[monitor]\ntimezone="Mars/Olympus"', "[monitor]: key 'timezone'"),
        (
            '[[source]]\nname="a"\nkind="feed"\nurl="https://x.example/"\ntimezone="UTC+8"',
            "source 'a': key 'timezone': unknown time zone 'UTC+8'",
        ),
        ("[monitor]\nconcurrency=0", "[monitor]: key 'concurrency'"),
        ("[monitor]\ntimeout=0", "[monitor]: key 'timeout': must be more than 0 seconds"),
        ("[monitor]\ntimeout=-1.5", "[monitor]: key 'timeout'"),
        ("[monitor]\ntimeout=nan", "[monitor]: key 'timeout': must be more than 0 seconds"),
        ('[monitor]\ntimeout="soon"', "[monitor]: key 'timeout': 'soon' is not a duration"),
        (
            '[[source]]\nname="a"\nkind="dir"\npath="monitor.toml"',
            "source 'a': key 'path': folder 'monitor.toml' is a file, not a folder",
        ),
        (
            '[[source]]\nname="a"\nkind="feed"\nurl="https://x.example/"\nheaders={"X Token"="1"}',
            "source 'a': key 'headers': 'X Token' is not a valid header name",
        ),
        (
            '[[source]]\nname="a"\nkind="feed"\nurl="https://x.example/"\n'
            'headers={Cookie="a=b\\n"}',
            "source 'a': key 'headers': header 'Cookie': the value has a line break",
        ),
        (
            '[[source]]\nname="a"\nkind="feed"\nurl="https://x.example/"\n'
            'headers={Referer="https://x.example/新闻"}',
            "source 'a': key 'headers': header 'Referer': the value has characters other "
            "than ASCII ('新'",
        ),
        (
            '[monitor]\nuser_agent="新闻监控/1.0"',
            "[monitor]: key 'user_agent': the value has characters other than ASCII ('新'",
        ),
        ("[monitor]\nparse_workers=-1", "[monitor]: key 'parse_workers'"),
        ('[monitor]\nparse_workers="2"', "[monitor]: key 'parse_workers'"),
        ('[[site]]\nname="x"\npatterns=["("]\nkey_prefix="x"', "x"),
        ('[[watches]]\nname="x"', "unknown top-level key 'watches'"),
        (
            '[[source]]\nname="a"\nkind="feed"\nurl="https://x.example/"\npage_url="x"',
            "source 'a': key 'page_url'",
        ),
    ],
)
def test_bad_config_names_file_source_and_key(tmp_path, body, message):
    p = write(tmp_path, body)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(p) in str(e.value)
    assert message in str(e.value)


FEED_A = '[[source]]\nname="a"\nkind="feed"\nurl="https://x.example/f.xml"\n'
FEED_B = '[[source]]\nname="b"\nkind="feed"\nurl="https://x.example/f.xml"\n'


@pytest.mark.parametrize(
    "body, message",
    [
        ('[monitor]\nuser_agent=""', "[monitor]: key 'user_agent': the value is empty"),
        ('[monitor]\nuser_agent="  "', "[monitor]: key 'user_agent': the value is empty"),
        (
            FEED_A + 'headers={"User-Agent"=""}',
            "source 'a': key 'headers': header 'User-Agent': the value is empty",
        ),
        (FEED_A + 'site=" "', "source 'a': key 'site': must not be empty"),
        (
            FEED_A + FEED_B,
            "source 'b': key 'url': source 'a' polls 'https://x.example/f.xml' too, with the "
            "same headers and proxy: every story would be sighted twice",
        ),
        (
            FEED_A
            + FEED_B.replace('url="', 'url=" ')
            + 'headers={Cookie="a=b"}\n'
            + FEED_A.replace('"a"', '"c"')
            + 'headers={Cookie="a=b"}',
            "source 'c': key 'url': source 'b' polls",
        ),
        (
            '[[source]]\nname="a"\nkind="dir"\npath="m"\n[[source]]\nname="b"\nkind="dir"\npath="m"',
            "source 'b': key 'path': source 'a' polls",
        ),
    ],
)
def test_empty_values_and_sources_polling_the_same_place_are_refused(tmp_path, body, message):
    p = write(tmp_path, body)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert f"{p}: {message}" in str(e.value)


@pytest.mark.parametrize(
    "other",
    [
        'headers={"Accept-Language"="zh-TW"}',  # another answer from the same URL
        'proxy="socks5://127.0.0.1:1080"',  # another region's answer
        "enabled=false",  # kept in the config, not polled
    ],
)
def test_sources_of_one_url_that_may_get_other_answers_are_allowed(tmp_path, other):
    p = write(tmp_path, FEED_A + FEED_B + other)
    assert [s.name for s in load_config(p).sources] == ["a", "b"]


def test_a_missing_key_with_nothing_like_it_in_the_table_gets_no_guess(tmp_path):
    p = write(tmp_path, '[[source]]\nname="a"\nkind="feed"\ncolour="red"')
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value).endswith("source 'a': key 'url': is required for kind 'feed'")


@pytest.mark.parametrize("written, seconds", [("12", 12.0), ("2.5", 2.5), ('"90s"', 90.0),
                                              ('"2m"', 120.0)])  # fmt: skip
def test_timeout_is_seconds_or_a_duration_like_the_other_keys(tmp_path, written, seconds):
    p = write(tmp_path, f"[monitor]\ntimeout = {written}")
    assert load_config(p).settings.timeout == seconds


@pytest.mark.parametrize("written, size", [("5000", 5000), ('"10MB"', 10 * 1024 * 1024),
    ('"512 KB"', 512 * 1024), ('"1.5 MiB"', 1536 * 1024), ('"2gb"', 2 * 1024**3),
    ('"700B"', 700), ('"4096"', 4096)])  # fmt: skip
def test_max_bytes_is_bytes_or_a_size_with_its_unit(tmp_path, written, size):
    """KB, MB and GB are 1024-based, as the fetch's "body larger than 10 MB" counts."""
    p = write(tmp_path, f"[monitor]\nmax_bytes = {written}")
    assert load_config(p).settings.max_bytes == size


@pytest.mark.parametrize("written, message", [
    ('"10 XB"', "'10 XB' is not a size like 512KB, 10MB or 1GB (or a number of bytes)"),
    ('"MB"', "'MB' is not a size"), ('"-1MB"', "'-1MB' is not a size"),
    ('"0KB"', "must be at least 1"), ("1.5", "expected int or str, got float 1.5"),
])  # fmt: skip
def test_a_bad_max_bytes_is_named(tmp_path, written, message):
    p = write(tmp_path, f"[monitor]\nmax_bytes = {written}")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert f"{p}: [monitor]: key 'max_bytes': {message}" in str(e.value)


def test_blanks_around_a_pasted_url_are_dropped(tmp_path):
    p = write(tmp_path, '[[source]]\nname="a"\nkind="feed"\nurl=" https://x.example/f.xml\t"')
    assert load_config(p).source("a").url == "https://x.example/f.xml"


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.toml")
    p = write(tmp_path, "[[source]\nname=")
    with pytest.raises(ConfigError, match=r"invalid TOML.*line 1"):
        load_config(p)
    p.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(p)


def test_a_dir_source_whose_folder_is_missing_loads(tmp_path):
    """An unmounted volume must not stop every command and the other sources: the poll
    reports the folder as not_found. A file at the path is a path written wrong."""
    p = write(tmp_path, '[[source]]\nname="a"\nkind="dir"\npath="no/such/folder"')
    assert load_config(p).source("a").path == tmp_path / "no" / "such" / "folder"


def test_dir_path_is_relative_to_the_config_file(tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "pages").mkdir()
    p = tmp_path / "conf" / "m.toml"
    p.write_text('[[source]]\nname="d"\nkind="dir"\npath="../pages"\n')
    assert load_config(p).sources[0].path == (tmp_path / "pages").resolve()


@pytest.mark.parametrize(
    "value, expected",
    [
        (30, timedelta(minutes=30)),
        ("90s", timedelta(seconds=90)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("15m", timedelta(minutes=15)),
    ],
)
def test_durations(value, expected):
    assert parse_duration(value) == expected


@pytest.mark.parametrize("value", ["-5m", "soon", 0, True, -1.5, float("nan"), float("inf")])
def test_bad_durations(value):
    with pytest.raises(ValueError):
        parse_duration(value)


def test_parse_config_without_file():
    assert parse_config({}).sources == ()


def test_shipped_watch_and_delivery():
    config = load_config(ROOT / "config" / "monitor.toml")
    watch = config.watch("ukraine")
    assert watch.rule.any == ("普京", "泽连斯基") and watch.timezone == "Asia/Shanghai"
    (delivery,) = watch.deliveries
    assert delivery.kind == "file" and delivery.path == (ROOT / "data" / "digests").resolve()


WATCH = '[[source]]\nname="s"\nkind="feed"\nurl="https://x.example/"\n[[watch]]\nname="w"\n'


@pytest.mark.parametrize(
    "body, message",
    [
        ('any=["普京"]\nregex="("', "watch 'w': key 'regex': invalid regular expression"),
        ("", "watch 'w': key 'any': a watch needs at least one"),
        ('any=["普京"]\nschedule="every day"', "watch 'w': key 'schedule': invalid cron"),
        ('any=["普京"]\ntimezone="Asia/Nowhere"', "watch 'w': key 'timezone'"),
        ('any=["普京"]\nsources=["nope"]', "watch 'w': key 'sources': no source named 'nope'"),
        ('any=[""]', "watch 'w': key 'any': expected a list of non-empty strings"),
        ("all=['\"  \"']", "watch 'w': key 'all': '\"  \"' is empty without its quotes"),
        ('any=["普京"]\ncolour=1', "watch 'w': key 'colour': unknown key"),
        (  # a misspelt required key is named beside the key it stands for
            'anyy=["普京"]',
            "watch 'w': key 'any': a watch needs at least one of 'any', 'all' or 'regex' "
            "(the table has 'anyy': a misspelling of 'any'?)",
        ),
        (
            'any=["普京"]\n[[watch.delivery]]\nkind="file"\npaths="d"',
            "key 'path': is required (the table has 'paths': a misspelling of 'path'?)",
        ),
        ('any=["普京"]\n[[watch.delivery]]\nkind="pigeon"', "watch 'w' delivery #1: key 'kind'"),
        (
            'any=["普京"]\n[[watch.delivery]]\nkind="email"\nto=["a@b.example"]\npassword="x"',
            "key 'password': SMTP credentials come from environment variables",
        ),
        ('any=["普京"]\n[[watch.delivery]]\nkind="email"\nto=["nobody"]', "key 'to'"),
        ('any=["普京"]\n[[watch.delivery]]\nkind="webhook"', "key 'url': is required"),
        ('any=["普京"]\n[[watch.delivery]]\nkind="file"\npath="d"\nformat="pdf"', "key 'format'"),
        (
            'any=["普京"]\n[[watch.delivery]]\nkind="email"\nto=["a@b.example"]\nformat="md"',
            "key 'format': an email delivery always sends HTML with a plain-text part",
        ),
        (
            'any=["普京"]\n[[watch.delivery]]\nkind="webhook"\nurl="https://h.example/x"\n'
            'format="text"',
            "key 'format': a webhook delivery always sends JSON",
        ),
        ('any=["普京"]\n[[watch]]\nname="w"\nany=["x"]', "key 'name': duplicate watch name"),
        # Rules that could never work are refused at start, not at the first digest.
        ('any=["普京"]\nexclude=["普京"]', "watch 'w': key 'exclude': '普京' is also in any"),
        (
            'all=["NATO"]\nexclude=["ｎａｔｏ"]',
            "watch 'w': key 'exclude': 'ｎａｔｏ' is also in all",
        ),
        (  # every story 乌克兰 finds holds 乌克
            'any=["乌克兰"]\nexclude=["乌克"]',
            "watch 'w': key 'exclude': every story an 'any' term finds has an excluded term "
            "in it ('乌克兰' has '乌克'): it can never match",
        ),
        (  # a regex that is a literal, as an 'all' term
            'regex="烏克蘭"\nexclude=["乌克"]',
            "watch 'w': key 'exclude': every story 'regex' '烏克蘭' finds has '乌克' in it: "
            "it can never match",
        ),
        (
            'any=["普京"]\nsites=["RFI"]\nexclude_sites=["rfi"]',
            "watch 'w': key 'exclude_sites': 'rfi' is also in sites",
        ),
        (
            'any=["普京"]\nschedule="0 8 * * *"',
            "watch 'w': key 'delivery': is required with 'schedule' ('0 8 * * *')",
        ),
        (
            'any=["普京"]\n[[watch.delivery]]\nkind="email"\nto=["a@b.example"]\n'
            '[[watch.delivery]]\nkind="email"\nto=["a@b.example"]\nimages=true',
            "watch 'w' delivery #2: sends to the same place in the same format as delivery #1",
        ),
    ],
)
def test_bad_watch_names_file_watch_and_key(tmp_path, body, message):
    p = write(tmp_path, WATCH + body)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(p) in str(e.value) and message in str(e.value)


@pytest.mark.parametrize("key", ["sources", "exclude_sources"])
def test_a_watch_may_name_the_stories_of_monitor_import_as_a_source(tmp_path, key):
    config = load_config(write(tmp_path, WATCH + f'any=["普京"]\n{key}=["import"]\n'))
    assert getattr(config.watch("w").rule, key) == ("import",)


def test_a_source_may_not_be_named_as_the_stories_of_monitor_import(tmp_path):
    p = write(tmp_path, '[[source]]\nname="import"\nkind="feed"\nurl="https://x.example/"\n')
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value).startswith(f"{p}: source 'import': key 'name': 'import' is the source")


def two_watches(first: str, second: str, *, formats=("atom", "atom"), paths=("d", "d")) -> str:
    return "".join(
        f'[[watch]]\nname="{name}"\nany=["普京"]\n'
        f'[[watch.delivery]]\nkind="file"\npath="{path}"\nformat="{fmt}"\n'
        for name, fmt, path in zip((first, second), formats, paths, strict=True)
    )


@pytest.mark.parametrize(
    "first, second, feed",
    [("NATO", "nato", "nato.atom"), ("乌克兰/局势", "乌克兰 局势", "乌克兰-局势.atom")],
)
def test_two_watches_writing_one_atom_feed_file_are_refused(tmp_path, first, second, feed):
    p = write(tmp_path, two_watches(first, second, paths=("d", "./d/")))
    with pytest.raises(ConfigError) as e:
        load_config(p)
    folder = (tmp_path / "d").resolve()
    assert str(e.value) == (
        f"{p}: watch '{second}' delivery #1: key 'path': writes the Atom feed '{feed}' in "
        f"'{folder}', as watch '{first}' delivery #1 does: each digest would replace "
        "the other's feed; rename one of the watches or send their feeds to different folders"
    )


@pytest.mark.parametrize(
    "formats, paths",
    [
        (("atom", "atom"), ("d", "e")),  # two folders: two feeds
        (("atom", "md"), ("d", "d")),  # nato.atom, and nato-<time>.md files
        (("md", "md"), ("d", "d")),  # files named by their time, never replaced (-2)
    ],
)
def test_watches_of_one_slug_writing_no_common_feed_are_accepted(tmp_path, formats, paths):
    config = load_config(write(tmp_path, two_watches("NATO", "nato", formats=formats, paths=paths)))
    assert [w.name for w in config.watches] == ["NATO", "nato"]


SOURCE = '[[source]]\nname="a"\nkind="feed"\nurl="https://x.example/"\n'


@pytest.mark.parametrize("value", ['"5000000d"', '"366d"', "600000", '"31622400s"'])
@pytest.mark.parametrize(
    "table, key",
    [
        ("source 'a'", "interval"),
        ("[monitor]", "max_interval"),
        ("[monitor]", "max_backoff"),
        ("[monitor]", "tick"),
    ],
)
def test_a_wait_longer_than_a_year_is_refused(tmp_path, table, key, value):
    where = SOURCE if table.startswith("source") else "[monitor]\n"
    p = write(tmp_path, f"{where}{key} = {value}\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value).startswith(f"{p}: {table}: key '{key}': ")
    assert str(e.value).endswith(" is longer than a year (365d)")


@pytest.mark.parametrize("key", ["digest_lookback", "group_window"])
def test_a_window_reaches_back_a_century_at_most(tmp_path, key):
    """A first digest may cover an archive imported from years back, not from before 1 AD."""
    p = write(tmp_path, f'[monitor]\n{key} = "36500d"\n')
    assert getattr(load_config(p).settings, key) == timedelta(days=36500)
    p = write(tmp_path, f'[monitor]\n{key} = "5000000d"\n')
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value) == (
        f"{p}: [monitor]: key '{key}': '5000000d' is longer than a hundred years (36500d)"
    )


def test_a_duration_of_a_year_is_accepted(tmp_path):
    p = write(tmp_path, '[monitor]\nmax_interval="365d"\n' + SOURCE + 'interval="365d"\n')
    assert load_config(p).source("a").interval == timedelta(days=365)


def test_an_interval_longer_than_max_interval_is_refused_naming_both(tmp_path):
    """max_interval is the longest wait between checks: an interval beyond it was shortened
    to it after a success, while failures backed off from the whole interval."""
    p = write(tmp_path, SOURCE + 'interval = "2d"\n')
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value) == (
        f"{p}: source 'a': key 'interval': 2d is longer than [monitor] max_interval (24h); "
        "raise max_interval to 2d or more, or shorten the interval"
    )
    p = write(tmp_path, '[monitor]\nmax_interval = "36h"\n' + SOURCE + "interval = 2160.5\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value).endswith(
        "key 'interval': 2160.5m is longer than [monitor] max_interval (36h); "
        "raise max_interval to 2160.5m or more, or shorten the interval"
    )


def test_an_interval_up_to_max_interval_is_kept(tmp_path):
    p = write(tmp_path, '[monitor]\nmax_interval = "2d"\n' + SOURCE + 'interval = "48h"\n')
    config = load_config(p)
    assert config.source("a").interval == config.settings.max_interval == timedelta(days=2)


SITE = '[[site]]\nname="好"\nhosts=["ok.example"]\n'


@pytest.mark.parametrize(
    "body, message",
    [
        ("[[site]]\nname = 5", "site #1: key 'name': expected str, got int 5"),
        ('[[site]]\nhosts=["x.example"]', "site #1: key 'name': is required"),
        (
            SITE + '[[site]]\nname=" "\nhosts=["x.example"]',
            "site ' ': key 'name': must not be empty",
        ),
        (
            SITE + '[[site]]\nname="好"\nhosts=["x.example"]',
            "site '好': key 'name': duplicate site name '好'",
        ),
        (SITE + 'colour="red"', "site '好': key 'colour': unknown key"),
        ('[[site]]\nname="坏"\nhosts="x.example"', "site '坏': key 'hosts': expected a list of"),
        (
            '[[site]]\nname="坏"',
            "site '坏': key 'hosts': 'hosts', 'patterns' and 'link_patterns' are all empty",
        ),
        (
            '[[site]]\nname="坏"\nkey_prefix="x"\npatterns=["(unclosed"]',
            "site '坏': key 'patterns': bad regex '(unclosed'",
        ),
        (
            '[[site]]\nname="坏"\nkey_prefix="x"\npatterns=["n\\\\d+"]',
            "site '坏': key 'patterns': 'n\\\\d+' has no group for the id",
        ),
        (
            '[[site]]\nname="坏"\npatterns=["(\\\\d+)"]',
            "site '坏': key 'key_prefix': is required with 'patterns'",
        ),
        (
            '[[site]]\nname="坏"\nkey_prefix="x"\nlink_patterns="(\\\\d+)"',
            "site '坏': key 'link_patterns': expected a list of strings",
        ),
        (
            '[[site]]\nname="坏"\nkey_prefix="x"\nlink_patterns=["(unclosed"]',
            "site '坏': key 'link_patterns': bad regex '(unclosed'",
        ),
        (
            '[[site]]\nname="坏"\nkey_prefix="x"\nlink_patterns=["n\\\\d+"]',
            "site '坏': key 'link_patterns': 'n\\\\d+' has no group for the id",
        ),
        (
            '[[site]]\nname="坏"\nlink_patterns=["(\\\\d+)"]',
            "site '坏': key 'key_prefix': is required with 'link_patterns'",
        ),
        (SITE + 'aliases="好报"', "site '好': key 'aliases': expected a list of strings"),
        (SITE + 'aliases=["好报", 5]', "site '好': key 'aliases': expected a list of strings"),
        (SITE + 'aliases=["好报", " "]', "site '好': key 'aliases': an alias must not be empty"),
        ("site = 3", "'site' must be an array of tables ([[site]])"),
        ("site = [3]", "site #1: expected a table"),
    ],
)
def test_bad_site_names_file_site_and_key(tmp_path, body, message):
    p = write(tmp_path, body)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value).startswith(f"{p}: {message}")


def test_a_site_rules_link_patterns_key_only_mirror_links(tmp_path):
    p = write(tmp_path, '[[site]]\nname="某"\nkey_prefix="m"\nlink_patterns=["\\\\?a=(\\\\d+)$"]\n')
    rules = load_config(p).rules
    assert rules.key_for("https://mirror.example/p?a=42", from_mirror=True) == "m:42"
    assert rules.key_for("https://mirror.example/p?a=42") is None


def test_a_site_rules_aliases_name_its_outlet(tmp_path):
    p = write(tmp_path, SITE + 'aliases = ["好日报", "Good Daily"]\n')
    rules = load_config(p).rules
    assert [rules.outlet(n) for n in ("好日報", "good daily", "好日报网")] == [
        "好",
        "好",
        "好日报网",
    ]


def test_a_site_rule_of_the_config_replaces_the_shipped_one_of_its_name(tmp_path):
    p = write(tmp_path, '[[site]]\nname="RFI"\nhosts=["rfi.example"]\n')
    rules = [r for r in load_config(p).rules if r.name == "RFI"]
    assert [r.hosts for r in rules] == [("rfi.example",)]


DURATION_KEYS = [
    ("source 'a'", "interval"),
    ("[monitor]", "max_interval"),
    ("[monitor]", "max_backoff"),
    ("[monitor]", "tick"),
    ("[monitor]", "digest_lookback"),
    ("[monitor]", "group_window"),
]


@pytest.mark.parametrize(
    "value, message",
    [
        ("nan", "nan is not a duration like 30m, 2h or 1d"),
        ("+nan", "nan is not a duration like 30m, 2h or 1d"),
        ("inf", "inf is not a duration like 30m, 2h or 1d"),
        ("-inf", "-inf is not a duration like 30m, 2h or 1d"),
        ("-5", "-5 is negative: a duration must be positive"),
        ("-0.5", "-0.5 is negative: a duration must be positive"),
        ("0", "0 is zero: a duration must be positive"),
        ('"0m"', "'0m' is zero: a duration must be positive"),
        ('"-5m"', "'-5m' is not a duration like 30m, 2h or 1d"),
    ],
)
@pytest.mark.parametrize("table, key", DURATION_KEYS)
def test_a_duration_that_is_no_number_or_not_positive_is_named(
    tmp_path, table, key, value, message
):
    where = SOURCE if table.startswith("source") else "[monitor]\n"
    p = write(tmp_path, f"{where}{key} = {value}\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value) == f"{p}: {table}: key '{key}': {message}"
