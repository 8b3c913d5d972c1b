"""The PDF documents print every script with the fonts shipped in projectflow/static/fonts.

A feedback form names students and carries comments in any language: accented Latin, Greek, Arabic
(right to left, letters joined) and Chinese must print with the shipped Noto fonts, never with
whatever the host has (DejaVu on most Linux machines), and the text must come back out of the PDF.

One document is printed once for the module; each test reads one thing from it with pypdf.
"""

from __future__ import annotations

import io
import logging
import re
import socket

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader
from pypdf.generic import ContentStream

from projectflow.core import pdf as pdf_module
from projectflow.core.pdf import FONTS_DIR, html_to_pdf

LATIN = "Zoë Šťastná Ångström"
GREEK = "Καλημέρα κόσμε"
ARABIC = "مرحبا بالعالم"  # every letter of it joins a neighbour: no isolated form should print
CHINESE = "李小龙 论文 朱镕基 臺灣"  # GB 2312 hanzi, then a name hanzi and Traditional ones outside it
SYMBOLS = "68 – “good” … € £ → ≤ ✓"  # punctuation and currency from Noto Sans, arrows/maths from SC

HTML = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Feedback form</title></head>
<body>
<h1>Feedback form</h1>
<p>{LATIN}</p>
<p lang="el">{GREEK}</p>
<p lang="ar" dir="rtl">{ARABIC}</p>
<p lang="zh-Hans">{CHINESE}</p>
<p>{SYMBOLS}</p>
<p><b>{LATIN}</b> <i>{LATIN}</i></p>
<p lang="ar" dir="rtl"><b>{ARABIC}</b></p>
</body></html>"""

# The PostScript names of the shipped faces (the `name` table is kept in the subset files, and
# WeasyPrint keeps it in the font program it embeds).
SHIPPED = {"NotoSans-Regular", "NotoSans-Bold", "NotoSans-Italic", "NotoSansArabic-Regular",
           "NotoSansArabic-Bold", "NotoSansCJKsc-Regular"}
FILES = {"NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "NotoSans-Italic.ttf",
         "NotoSansArabic-Regular.ttf", "NotoSansArabic-Bold.ttf", "NotoSansSC-Regular.otf"}


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def printed():
    """The document as PDF bytes, with what WeasyPrint warned about while printing it."""
    records = _Records()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(records)
    try:
        data = html_to_pdf(HTML)
    finally:
        logger.removeHandler(records)
    return data, records.messages


@pytest.fixture(scope="module")
def fonts(printed):
    """{BaseFont: (font dictionary, embedded font program as TTFont)} of the one page."""
    page = PdfReader(io.BytesIO(printed[0])).pages[0]
    found = {}
    for ref in page["/Resources"]["/Font"].values():
        font = ref.get_object()
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        files = [key for key in ("/FontFile", "/FontFile2", "/FontFile3") if key in descriptor]
        program = TTFont(io.BytesIO(descriptor[files[0]].get_object().get_data())) if files else None
        found[str(font["/BaseFont"])] = (font, program)
    return found


def _text_of(page, font_name: str) -> list[str]:
    """What the glyphs shown in font ``font_name`` (a BaseFont) say, in the order they are drawn
    (left to right), decoded with the font's own ToUnicode map."""
    resources = page["/Resources"]["/Font"]
    key = next(k for k, ref in resources.items() if ref.get_object()["/BaseFont"] == font_name)
    cmap = resources[key].get_object()["/ToUnicode"].get_object().get_data().decode("latin-1")
    to_unicode = {int(gid, 16): bytes.fromhex(text).decode("utf-16-be")
                  for gid, text in re.findall(r"<([0-9a-fA-F]{4})> <([0-9a-fA-F]+)>", cmap)}
    runs, current = [], None
    for operands, operator in ContentStream(page.get_contents(), page.pdf).operations:
        if operator == b"Tf":
            current = operands[0]
        elif operator in (b"TJ", b"Tj") and current == key:
            items = operands[0] if operator == b"TJ" else [operands[0]]
            codes = b"".join(getattr(item, "original_bytes", item) for item in items
                             if not isinstance(item, (int, float)))
            runs.append("".join(to_unicode[int.from_bytes(codes[i:i + 2], "big")]
                                for i in range(0, len(codes), 2)))
    return runs


def _font_named(fonts, postscript_name: str) -> str:
    """The BaseFont of the embedded font whose program is the shipped face ``postscript_name``."""
    names = [name for name, (_f, program) in fonts.items()
             if program is not None and program["name"].getDebugName(6) == postscript_name]
    assert names, f"{postscript_name} is not in the PDF"
    return names[0]


def test_the_fonts_ship_with_their_licence_and_provenance():
    present = {path.name for path in FONTS_DIR.iterdir()}
    assert FILES | {"OFL.txt", "README.md"} <= present
    assert {name for _family, name, *_ in pdf_module.FONT_FACES} == FILES
    for name in FILES:
        program = TTFont(FONTS_DIR / name, lazy=True)
        assert program["name"].getDebugName(6) in SHIPPED
        assert "Open Font License" in program["name"].getDebugName(13)
    assert "SIL OPEN FONT LICENSE Version 1.1" in (FONTS_DIR / "OFL.txt").read_text(encoding="utf-8")


def test_every_embedded_font_is_a_shipped_noto_face(fonts):
    assert all(program is not None for _font, program in fonts.values()), "a font is not embedded"
    embedded = {program["name"].getDebugName(6) for _font, program in fonts.values()}
    assert embedded == SHIPPED
    host = [name for name in fonts if not name.split("+", 1)[-1].startswith("Noto-Sans")
            or re.search("dejavu|liberation|freesans", name, re.I)]
    assert not host, f"host fonts in the PDF: {host}"


def test_no_character_printed_as_notdef(printed, fonts):
    """A character no font has prints as .notdef (an empty box), and WeasyPrint then gives that font
    its own embedded /Encoding CMap instead of /Identity-H, which pypdf cannot read: every piece of
    text in that font comes out of extract_text() as garbage ('\\x00F\\x00i...')."""
    assert not [m for m in printed[1] if ".notdef" in m]
    assert {name: str(font["/Encoding"]) for name, (font, _p) in fonts.items()} == {
        name: "/Identity-H" for name in fonts}


@pytest.mark.parametrize("text", [LATIN, GREEK, ARABIC, CHINESE, SYMBOLS])
def test_the_text_comes_back_out(printed, text):
    assert text in PdfReader(io.BytesIO(printed[0])).pages[0].extract_text()


def test_arabic_is_joined_and_drawn_right_to_left(printed, fonts):
    page = PdfReader(io.BytesIO(printed[0])).pages[0]
    arabic = _font_named(fonts, "NotoSansArabic-Regular")
    drawn = "".join(_text_of(page, arabic))
    # Drawn from the left, the line starts with the last letter of the sentence.
    assert drawn == ARABIC[::-1]
    # Joined: no letter uses its isolated form, the glyph the font's cmap gives the bare character
    # (glyph ids are the shipped file's: WeasyPrint subsets with retain_gids).
    shipped = TTFont(FONTS_DIR / "NotoSansArabic-Regular.ttf")
    isolated = {shipped.getGlyphID(name): chr(code) for code, name in shipped.getBestCmap().items()
                if chr(code) in ARABIC.replace(" ", "")}
    cmap = fonts[arabic][0]["/ToUnicode"].get_object().get_data().decode("latin-1")
    used = {int(gid, 16) for gid, _text in re.findall(r"<([0-9a-fA-F]{4})> <([0-9a-fA-F]+)>", cmap)}
    assert len(isolated) == len(set(ARABIC.replace(" ", "")))
    assert not used & isolated.keys(), f"isolated forms printed: {[isolated[g] for g in used & isolated.keys()]}"


def test_chinese_prints_with_the_shipped_glyphs(printed, fonts):
    page = PdfReader(io.BytesIO(printed[0])).pages[0]
    chinese = _font_named(fonts, "NotoSansCJKsc-Regular")
    assert CHINESE in _text_of(page, chinese)


# A 1x1 PNG: a data: URL is allowed, so the PDF shows this image and only this one.
PIXEL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwAD"
         "hgGAWjR9awAAAABJRU5ErkJggg==")


@pytest.mark.parametrize("url", ["http://example.com/x.png", "https://example.com/x.png"])
def test_a_network_url_is_refused_not_fetched(monkeypatch, caplog, url):
    """The fetcher refuses the URL (WeasyPrint logs it and leaves the image out), with the real
    fetcher in place."""
    attempts = []

    def no_network(*args, **kwargs):
        attempts.append(args)
        raise OSError("a PDF document opened a network connection")

    # Not a stand-in for the fetcher: a tripwire that records any connection attempt at all.
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        data = html_to_pdf(f'<html lang="en"><body><p>Photo</p><img src="{url}" alt="remote">'
                           f'<img src="{PIXEL}" alt="inline"></body></html>')
    assert data.startswith(b"%PDF-")
    assert not attempts
    # Refused before any request: a ValueError from the fetcher (an attempted fetch would have
    # failed on the tripwire with an OSError/URLError instead).
    failures = [r.getMessage() for r in caplog.records if url in r.getMessage()]
    assert failures and all("ValueError" in m for m in failures), failures
    page = PdfReader(io.BytesIO(data)).pages[0]
    assert len(page["/Resources"]["/XObject"]) == 1  # the data: pixel alone
    assert "Photo" in page.extract_text()
