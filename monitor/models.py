"""Plain data shared by every step of the flow: nothing here does I/O."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Image:
    url: str
    caption: str | None = None


@dataclass
class Item:
    """One normalized story as a parser sees it.

    ``canonical_url`` and ``story_key`` are filled by the keying step
    (:mod:`monitor.canonical`), not by parsers, because site rules come from config.
    ``published`` is UTC ISO 8601 with only the precision the source gives
    (``2021-12-31`` or ``2021-12-08T01:56:33Z``) or ``None``.
    """

    title: str
    format: str
    url: str | None = None
    site: str | None = None
    author: str | None = None
    published: str | None = None
    summary: str | None = None
    text: str = ""
    html: str = ""
    images: list[Image] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    lang: str = "other"
    # Other URLs that name this same article (mirror nav links, alternate editions).
    alt_urls: list[str] = field(default_factory=list)
    canonical_url: str | None = None
    story_key: str | None = None
    # Outlet + normalized title: lets a link-less copy meet its linked original.
    title_key: str | None = None
    # A link-less feed entry's own id, as ``<feed URL or outlet>#<guid>``: two entries of
    # one feed with different ids are two stories, whatever their titles ("快讯").
    entry_id: str | None = None
    # Content sketch (similarity.story_sketch), filled by parse workers; () when the text is
    # too short to identify the story, None when not computed yet.
    sketch: tuple[int, ...] | None = field(default=None, repr=False, compare=False)

    def to_dict(self, *, with_html: bool = True) -> dict:
        d = {
            "title": self.title,
            "url": self.url,
            "canonical_url": self.canonical_url,
            "story_key": self.story_key,
            "site": self.site,
            "author": self.author,
            "published": self.published,
            "summary": self.summary,
            "text": self.text,
            "images": [{"url": i.url, "caption": i.caption} for i in self.images],
            "tags": list(self.tags),
            "lang": self.lang,
            "format": self.format,
            "alt_urls": list(self.alt_urls),
        }
        if with_html:
            d["html"] = self.html
        return d


class ParseError(ValueError):
    """The document could not be read as its format."""


class NotAnArticle(ParseError):
    """The document is well-formed but is not an article (placeholder, index, error page)."""


# --- digests -------------------------------------------------------------------------------


@dataclass
class DigestStory:
    """One story as a digest shows it; times are already in the watch's time zone."""

    story_key: str
    title: str
    site: str | None
    published: str | None  # ISO 8601 in the watch's zone, e.g. 2021-12-31T08:00:00+08:00
    url: str | None  # canonical link (or the link as given)
    lead: str  # ~120 characters of clean text
    mirror_links: list[str] = field(default_factory=list)  # mirror copies (pages, files)
    image: str | None = None  # lead image URL; HTML digests show it only with images=True


@dataclass
class DigestEntry:
    """A group: the headline story, then the other outlets that reported the same event."""

    headline: DigestStory
    also: list[DigestStory] = field(default_factory=list)
    matched_terms: list[str] = field(default_factory=list)

    @property
    def outlets(self) -> int:
        return len({s.site for s in [self.headline, *self.also]})


@dataclass
class Digest:
    watch: str
    generated_at: str  # ISO 8601 in the watch's zone
    timezone: str
    since: str  # what the digest covers, e.g. "since last digest" or "since 2021-12-01"
    entries: list[DigestEntry] = field(default_factory=list)
    digest_id: int | None = None  # set once recorded in the store
