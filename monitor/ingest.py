"""Local files into the store: read → parse → key → save, one transaction per batch.

The same parse-and-key path serves ``monitor import`` and the ``dir`` source kind, so a
file loads the same way whichever door it comes through.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlite_utils

from .canonical import SiteRules, assign_keys
from .models import Item, NotAnArticle, ParseError
from .parsers import parse
from .similarity import DEFAULT_COPY_SIMILARITY, story_sketch
from .store import Saved, Sighting, apply_site_rules, save_items

# Files a folder walk picks up; a file named explicitly is always tried. (Folders of
# mirror repositories also hold images, stylesheets, LICENSE files: not worth a rejection.)
DOCUMENT_SUFFIXES = frozenset(
    {".txt", ".md", ".markdown", ".html", ".htm", ".xhtml", ".xml", ".rss", ".rdf", ".atom"}
)


@dataclass
class Rejected:
    path: str
    reason: str
    failed: bool  # True: unreadable or unparseable; False: a page that is not an article


@dataclass
class ImportReport:
    files: int = 0
    new: int = 0
    merged: int = 0
    seen: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    keys_added: int = 0  # stored stories' keys from site rules new to the store

    @property
    def failed(self) -> bool:
        return any(r.failed for r in self.rejected)

    def count(self, saved: Iterable[Saved]) -> None:
        for s in saved:
            setattr(self, s.status, getattr(self, s.status) + 1)


def path_text(path: str | os.PathLike) -> str:
    """A path as text to store and print. A name whose bytes are not UTF-8 (a GBK name
    copied from Windows) keeps them as backslash escapes: ``新闻.md`` in GBK reads
    ``\\xd0\\xc2\\xce\\xc5.md``, the same on every run."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def documents_in(root: Path, unreadable: list[OSError] | None = None) -> list[Path]:
    """Document files below ``root``, sorted, skipping hidden files and folders (``.git``);
    the folders that could not be listed go to ``unreadable``."""
    return walk(root, unreadable)[0]


def walk(root: Path, unreadable: list[OSError] | None = None) -> tuple[list[Path], list[Path]]:
    """``(documents, others)`` below ``root``, sorted, hidden files and folders left out:
    the files :data:`DOCUMENT_SUFFIXES` picks, and the entries it does not (other files,
    links to nothing, FIFOs), which an import names in its summary. A folder that cannot
    be listed (no permission) is added to ``unreadable``, not taken for an empty one."""
    documents, others = [], []
    failed = unreadable.append if unreadable is not None else None
    for folder, dirs, files in os.walk(root, onerror=failed):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith("."):
                continue
            f = Path(folder, name)
            if f.is_file():  # one stat for a regular file: a dir source walks at every poll
                (documents if f.suffix.lower() in DOCUMENT_SUFFIXES else others).append(f)
            elif not f.is_dir():
                others.append(f)
    return sorted(documents), sorted(others)


def parse_and_key(
    data: bytes,
    rules: SiteRules,
    *,
    url: str | None = None,
    site: str | None = None,
    zone: str | None = None,
    with_sketch: bool = False,
) -> list[Item]:
    """The one path from bytes to keyed items, for imports and for polled sources.

    ``with_sketch`` also fills each item's content sketch: parse workers do, so the
    folding and hashing happen there; in process the writer makes it only for stories
    no key finds.
    """
    items = [assign_keys(item, rules) for item in parse(data, url=url, site=site, zone=zone)]
    if with_sketch:
        for item in items:
            item.sketch = story_sketch(item.text)
    return items


NOT_FOUND = "no such file or folder"
NOT_A_FILE = "not a regular file or folder"


@dataclass
class Found:
    files: list[Path]  # to load
    unused: list[Rejected]  # paths named that cannot be loaded
    skipped: list[Path]  # entries of the folders named that are not documents


def find_files(paths: Iterable[str | Path]) -> Found:
    """Expand folders (recursively, skipping hidden ones) into document files, sorted; a
    file named twice (``seeds seeds/a.txt``) is loaded once.

    The paths not used come back with the reason: :data:`NOT_FOUND`, or :data:`NOT_A_FILE`
    for a device, FIFO or socket, which is never opened (a FIFO would block the read), or
    a folder that cannot be listed (its files would be missing without a word)."""
    found: dict[Path, Path] = {}  # by resolved path, in order
    missing: list[Rejected] = []
    skipped: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            unreadable: list[OSError] = []
            files, others = walk(p, unreadable)
            skipped += others
            missing += [
                Rejected(path_text(e.filename), f"cannot read folder: {e.strerror or e}", True)
                for e in unreadable
            ]
        elif p.is_file():
            files = [p]
        else:
            reason = NOT_A_FILE if p.exists() else NOT_FOUND
            missing.append(Rejected(path_text(raw), reason, failed=True))
            continue
        for f in files:
            found.setdefault(f.resolve(), f)
    return Found(list(found.values()), missing, skipped)


def load_file(
    path: Path, rules: SiteRules, *, site: str | None = None, zone: str | None = None
) -> list[Item]:
    """Parse and key one file; raises ParseError (or OSError) with the reason."""
    data = path.read_bytes()
    return parse_and_key(data, rules, site=site, zone=zone)


def import_files(
    db: sqlite_utils.Database,
    files: list[Path],
    rules: SiteRules,
    *,
    now: datetime,
    source: str = "import",
    site: str | None = None,
    zone: str | None = None,
    batch_size: int = 500,
    progress: Callable[[Path], None] | None = None,
    copy_similarity: float = DEFAULT_COPY_SIMILARITY,
) -> ImportReport:
    """Load files into the store; a bad file is rejected with its reason, the rest load."""
    report = ImportReport(keys_added=apply_site_rules(db, rules))
    batch: list[tuple[Item, Sighting]] = []
    for path in files:
        report.files += 1
        try:
            items = load_file(path, rules, site=site, zone=zone)
        except NotAnArticle as e:
            report.rejected.append(Rejected(path_text(path), str(e), failed=False))
        except (ParseError, OSError, UnicodeError) as e:
            reason = str(e) or type(e).__name__
            report.rejected.append(Rejected(path_text(path), reason, failed=True))
        else:
            where = Sighting(source, path_text(path.resolve()))
            batch.extend((item, where) for item in items)
        if len(batch) >= batch_size:
            report.count(save_items(db, batch, now=now, copy_similarity=copy_similarity))
            batch = []
        if progress:
            progress(path)
    if batch:
        report.count(save_items(db, batch, now=now, copy_similarity=copy_similarity))
    return report
