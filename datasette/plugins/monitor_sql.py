"""SQL functions for reading the monitor store in Datasette.

Loaded with ``datasette serve --plugins-dir datasette/plugins``; it needs the ``monitor``
package importable (the image's ``datasette`` target and the ``test`` extra both have it).

``bigram_query(q)``
    A search as an FTS5 MATCH expression for ``items_fts``, exactly as ``monitor search``
    builds it. The index holds folded, bigram-segmented text (monitor/fulltext.py), so
    泽连斯基 has to be asked as the phrase "泽连 连斯 斯基" and 烏克蘭 as "乌克 克兰", and
    ``普京 -拜登`` leaves out the stories that mention 拜登::

        select id, title from items
        where id in (select rowid from items_fts where items_fts match bigram_query(:q))

    A one-character term (普) is every indexed token holding it: those starting with it
    and the bigrams ending in it that the index's vocabulary holds, ``("普" * OR "北普" …)``,
    the stories ``monitor search`` finds for it. An empty query matches nothing (a canned
    query's form before anything is typed). A search the bigrams cannot answer (a lone
    character before a word, ``乔·拜登``; only ``-term``s) makes the query fail with the
    reason: ``no such column: "乔·拜登": a single Chinese character cannot be searched here
    …`` (``monitor search`` scans for those instead).

The search box on ``items`` asks the same index: a request with ``_search=烏克蘭`` is
passed on as ``_search=bigram_query(烏克蘭)``, which metadata.yml's ``searchmode: raw``
has Datasette match as it is, so the box finds longer words, either script and ``-term``s
as the *search* query does (the box then shows the expression it ran, ``"乌克 克兰"``;
asking that again finds the same stories, as an expression of several phrases joined by
``AND``/``NOT`` is taken as it is). A request that names its ``_searchmode`` is left as it
is, and so is ``items`` of a database metadata.yml does not describe as the store. The
mode is not added to the request: Datasette's form keeps a request's arguments,
and the next search typed into the box would have gone to the index unchanged.

``local_day_start()``
    Midnight today in the server's time zone (``TZ``) as a store timestamp (UTC, ``Z``), for
    "new today" queries: ``where first_seen >= local_day_start()``.

``url_text(url)``
    A link with its percent-escapes decoded, so a Chinese URL reads (and wraps) as text:
    ``https://www.rfi.fr/cn/欧洲/20220128-美乌总统…``. Datasette still links it.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from urllib.parse import parse_qsl, unquote, urlencode

from datasette.utils import tilde_decode

from datasette import hookimpl
from monitor.fulltext import (
    QueryTooShort,
    match_expression,
    phrases_of,
    search_terms,
    single_character,
)
from monitor.store import indexed_character_expression


def bigram_query(q: str | None, conn: sqlite3.Connection | None = None) -> str:
    """``q`` as ``items_fts`` MATCH expression; with ``conn``, the store's connection, a
    one-character term too, as every indexed token holding the character."""
    if not (q or "").strip():
        return '""'
    try:
        wanted, unwanted = search_terms(q)
        return " AND ".join(_term(t, conn) for t in wanted) + "".join(
            f" NOT {_term(t, conn)}" for t in unwanted
        )
    except QueryTooShort as e:
        return _refused(
            f'"{e}": a single Chinese character cannot be searched here before a word '
            "(the index holds pairs of characters); search a longer word, or use monitor search"
        )
    except ValueError as e:  # only -terms: nothing to find
        return _refused(str(e))


def _term(term: str, conn: sqlite3.Connection | None) -> str:
    """One term's expression: its phrase (as fts_query has it), or for one character
    alone the bigrams the index holds with it, looked up in its vocabulary."""
    try:
        return match_expression(phrases_of([term]))
    except QueryTooShort:
        if conn is None or (char := single_character(term)) is None:
            raise
        return f"({indexed_character_expression(conn, char)})"


def _refused(reason: str) -> str:
    """An expression FTS5 refuses with ``reason`` in its message. Whatever a Python SQL
    function raises reaches Datasette as "user-defined function raised exception"; FTS5
    names an unknown column filter in its error, which Datasette shows as it is."""
    return '"' + reason.replace('"', '""') + '" : ""'


def local_day_start() -> str:
    # A naive local time: astimezone() applies the zone's rules for that day (DST-safe).
    midnight = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def url_text(url: str | None) -> str | None:
    return unquote(url) if url else url


_ITEMS = re.compile(r"/(?P<database>[^/]+)/items(?:\.\w+)?")  # the table page, .json, .csv
_PHRASE = r'"[^"]*"(?: \*)?'
_CHARACTER = f"\\({_PHRASE}(?: OR {_PHRASE})*\\)"  # a one-character term's tokens
_OPERAND = f"(?:{_PHRASE}|{_CHARACTER})"
# What bigram_query writes for several terms or one character (one phrase alone it reads
# back as itself).
_EXPRESSION = re.compile(f"{_CHARACTER}|{_OPERAND}(?: (?:AND|NOT) {_OPERAND})+")


async def searched_by_bigrams(query_string: bytes, expression) -> bytes:
    """An ``items`` request's query string with its ``_search`` as the index's expression
    (``await expression(q)``), and none for an emptied box (FTS5 refuses to match nothing:
    'syntax error near ""')."""
    params = parse_qsl(query_string.decode("utf-8", "replace"), keep_blank_values=True)
    keys = {k for k, _ in params}
    if "_search" not in keys or "_searchmode" in keys:
        return query_string
    out = [
        (k, await expression(v) if k == "_search" and not _EXPRESSION.fullmatch(v) else v)
        for k, v in params
        if k != "_search" or v.strip()
    ]
    return urlencode(out).encode("ascii")


def _is_store(datasette, database: str) -> bool:
    """Whether metadata.yml gives this database's ``items`` the store's bigram index:
    another database's ``items`` keeps Datasette's own search."""
    items = datasette.table_metadata(tilde_decode(database), "items")
    return items.get("fts_table") == "items_fts" and items.get("searchmode") == "raw"


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def with_bigram_search(scope, receive, send):
            page = _ITEMS.fullmatch(scope.get("path", "")) if scope.get("type") == "http" else None
            if page and _is_store(datasette, page["database"]):
                db = datasette.get_database(tilde_decode(page["database"]))

                async def expression(q: str) -> str:  # on the store's own connection
                    return (await db.execute("SELECT bigram_query(?)", [q])).single_value()

                query_string = await searched_by_bigrams(scope["query_string"], expression)
                scope = {**scope, "query_string": query_string}
            await app(scope, receive, send)

        return with_bigram_search

    return wrap


@hookimpl
def prepare_connection(conn):
    # Not deterministic: a one-character term's expression depends on what is indexed.
    conn.create_function("bigram_query", 1, lambda q: bigram_query(q, conn))
    conn.create_function("local_day_start", 0, local_day_start)
    conn.create_function("url_text", 1, url_text, deterministic=True)
