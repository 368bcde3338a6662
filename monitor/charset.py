"""Which text a document's bytes are: one decision for fetched bodies and local files.

Chinese sites and the mirrors of them serve GBK, GB18030 and Big5 as often as UTF-8, often
mislabelled or unlabelled. :func:`decode_body` reads what the document and its server say,
then checks it against the bytes; :func:`utf8_document` hands the parsers the same
document as UTF-8, so a file reads the same whether it was fetched or imported.
"""

from __future__ import annotations

import codecs
import re

from monitor.models import ParseError

# Declared legacy Chinese charsets are read as their supersets: pages labelled gb2312
# routinely contain GBK-only characters (镕), and big5 pages HKSCS ones (嘅).
_UPGRADES = {"gb2312": "gb18030", "gbk": "gb18030", "big5": "big5hkscs", "cp950": "big5hkscs"}
# WHATWG labels Python's codec registry does not know.
_LABELS = {"x-gbk": "gbk", "gb_2312-80": "gb2312", "csgb2312": "gb2312", "x-x-big5": "big5"}
# Java servers send ISO-8859-1 by default; such a header must not beat a <meta> or a
# valid UTF-8 body.
_WEAK = {"ascii", "iso8859-1", "cp1252"}

_CHARSET = re.compile(rb"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""")
_META = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# UTF-32 first: its little-endian BOM starts with UTF-16's (ff fe 00 00).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# The BOMs of the encodings whose text is full of NUL bytes (UTF-32 LE's starts with
# UTF-16 LE's): Windows Notepad saves "Unicode" as UTF-16 LE with a BOM.
WIDE_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)
# About 300 of the most frequent Chinese characters, in simplified and traditional
# forms: right-decoded text is full of them, GBK read as Big5 (or vice versa) is not.
_COMMON = frozenset(
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于"
    "着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还"
    "进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情"
    "明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或"
    "新己制身果加西斯月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员"
    "解水名真论处走义各入几口认条平系气题活更别打女变四神总何电数安少报才结反受目太量"
    "再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼"
    "书非则听白却界达光放强即像难且权思王象完這個們來爲國說時會對於過發後裏種經麼學現"
    "當沒動還進樣開從實軍無與長機關點業將兩間問並應戰頭體見產話內給門兒東聲員論處義幾"
    "認條氣題別變總電數報結務場計資許統區隊決馬書則聽卻達強難權為著裡説"
)


def _codec(label: bytes | str | None) -> str | None:
    """Python codec name for a charset label, upgraded to its superset; None if unknown."""
    if not label:
        return None
    if isinstance(label, bytes):
        label = label.decode("ascii", "replace")
    label = label.strip().lower()
    try:
        name = codecs.lookup(_LABELS.get(label, label)).name
    except LookupError:
        return None
    return _UPGRADES.get(name, name)


def _strict(content: bytes, encoding: str) -> str | None:
    try:
        return content.decode(encoding)
    except (UnicodeDecodeError, LookupError):  # LookupError: e.g. "base64" is no text codec
        return None


def _utf8_cut_short(content: bytes) -> str | None:
    """UTF-8 text whose last character was cut off (a download or copy that stopped
    short), without that character; None when the bytes are not such text."""
    try:  # not final: an incomplete sequence at the end is held back, not an error
        return codecs.getincrementaldecoder("utf-8")().decode(content, final=False)
    except UnicodeDecodeError:
        return None


def _declared(content: bytes, content_type: str | None) -> list[str]:
    """Charsets the server or document claims, most authoritative first."""
    found: list[str] = []
    head = content[:4096]
    m = _CHARSET.search(content_type.encode("latin-1", "replace")) if content_type else None
    xml = _XML_DECL.match(head)
    # In a feed, a <meta> can only come from embedded HTML (CDATA): not the feed's own.
    meta = None if head.lstrip().startswith(b"<?xml") else _META.search(head)
    for match in (m, xml, meta):
        name = _codec(match.group(1)) if match else None
        if name and name not in found:
            found.append(name)
    return found


def _chinese_score(text: str) -> float:
    """Positive when ``text`` reads as Chinese: real prose is ~half common characters,
    mojibake from the wrong legacy codec almost never is."""
    common = other = 0
    for c in text:
        if c in _COMMON:
            common += 1
        elif c == "\ufffd":
            other += 20
        elif c > "\x7f":
            other += 1
    return common - other / 4


def decode_body(content: bytes, content_type: str | None) -> tuple[str, str]:
    """Bytes to (text, encoding) the way Chinese sites need it.

    Order: BOM (browsers let it beat every label); declared charsets — header, XML
    prolog, ``<meta>`` — each only if the body strictly decodes with it (servers often
    say utf-8 over GBK pages); strict UTF-8; then the best reading among the declared
    charsets, GB18030 and Big5-HKSCS. An ISO-8859-1 style label (a Java server default)
    is believed only when no reading looks Chinese; a mostly ASCII document that reads as
    no Chinese is Windows-1252.
    """
    text, encoding, _ = _reading(content, content_type)
    return text, encoding


def document_text(content: bytes, content_type: str | None = None) -> str:
    """The text :func:`decode_body` reads; ParseError when that is only a guess that does
    not read as Chinese (another encoding, binary data): it must not become a story."""
    text, _, sound = _reading(content, content_type)
    if not sound:
        raise ParseError(_UNREADABLE)
    return text


def utf8_document(content: bytes, content_type: str | None = None) -> bytes:
    """:func:`document_text` as UTF-8 bytes for parsers that read bytes, its XML prolog or
    ``<meta>`` charset relabelled to match; a UTF-8 document that says so is returned as is."""
    text, encoding, sound = _reading(content, content_type)
    if not sound:
        raise ParseError(_UNREADABLE)
    if encoding == "utf-8" and all(e == "utf-8" for e in _declared(content, None)):
        return content
    return _relabelled(text).encode("utf-8")


_UNREADABLE = "text is not UTF-8, GBK/GB18030 or Big5"
_CJK = re.compile("[\u4e00-\u9fff]")
_ASCII = bytes(range(128))
_XML_LABEL = re.compile(r"""\A(\s*<\?xml[^>]*?encoding\s*=\s*["'])[^"']*""")
_META_LABEL = re.compile(r"""(<meta\b[^>]*?charset\s*=\s*["']?\s*)[A-Za-z0-9_.:-]+""", re.I)


def _relabelled(text: str) -> str:
    """The declaration :func:`_declared` would read now says utf-8."""
    if text.lstrip().startswith("<?xml"):
        return _XML_LABEL.sub(r"\g<1>utf-8", text, count=1)
    head = _META_LABEL.sub(r"\g<1>utf-8", text[:4096], count=1)
    return head + text[4096:]


def _reading(content: bytes, content_type: str | None) -> tuple[str, str, bool]:
    """``(text, encoding, sound)``: not sound is a guess that reads as no Chinese."""
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            return content.decode(encoding, errors="replace"), encoding, True
    declared = _declared(content, content_type)
    strong = [e for e in declared if e not in _WEAK]
    weak = [e for e in declared if e in _WEAK]
    # Text that is valid UTF-8 and not ASCII is UTF-8, whatever it says: GBK or Big5 text
    # is almost never valid UTF-8, while UTF-8 text often reads as (garbled) GB18030.
    order = ["utf-8", *strong] if not content.isascii() else [*strong, "utf-8"]
    for encoding in order:
        text = _strict(content, encoding)
        if text is not None:
            return text, encoding, True
    if (text := _utf8_cut_short(content)) is not None:
        return text, "utf-8", True
    candidates = dict.fromkeys([*strong, "gb18030", "big5hkscs"])  # ordered: ties go first
    readings = [(content.decode(e, errors="replace"), e) for e in candidates]
    scores = [_chinese_score(text) for text, _ in readings]
    best = scores.index(max(scores))
    if scores[best] > 0:
        return *readings[best], True
    mostly_ascii = len(content.translate(None, _ASCII)) * 6 < len(content)  # bytes ≥ 0x80
    if mostly_ascii:  # a few Chinese words in Latin text ("Reuters 路透"): too few to score
        for encoding in candidates:
            text = _strict(content, encoding)
            if text is not None and _CJK.search(text):
                return text, encoding, True
    if weak:
        return content.decode(weak[0], errors="replace"), weak[0], True
    if mostly_ascii:
        # No Chinese: a Western page's accented letters ("café"), read as Windows-1252,
        # the web's default for an unlabelled document. Nothing is garbled but those
        # letters at worst.
        return content.decode("cp1252", errors="replace"), "cp1252", True
    return *readings[best], False
