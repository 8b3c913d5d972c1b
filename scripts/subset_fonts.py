"""Rebuild the fonts in projectflow/static/fonts from Debian's Noto packages.

Documents where the shipped fonts come from and how they were cut down; the build does not run it.

    apt-get download fonts-noto-core fonts-noto-cjk
    dpkg-deb -x fonts-noto-core_20201225-1_all.deb /tmp/noto
    dpkg-deb -x fonts-noto-cjk_1%3a20220127+repack1-1_all.deb /tmp/noto
    .venv/bin/python scripts/subset_fonts.py /tmp/noto            # writes projectflow/static/fonts
    .venv/bin/python scripts/subset_fonts.py /tmp/noto --print    # only prints the pyftsubset commands

Each font is subset with fontTools' pyftsubset, hinting dropped (PDFs do not need it), every
OpenType layout feature kept for Latin/Greek/Cyrillic and Arabic (kerning, mark positioning, the
Arabic joining forms and ligatures), the whole ``name`` table kept (the PDF names the font it embeds,
and the OFL notice stays inside each file). Chinese is Noto Sans CJK SC (the Simplified Chinese face
of the .ttc) cut to the characters of GB 2312, CJK punctuation, fullwidth forms and a few symbol
blocks; its CFF outlines are kept, hence ``.otf``.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "projectflow" / "static" / "fonts"

COMMON = ["--no-hinting", "--name-IDs=*", "--notdef-outline"]

# Latin with Latin-1, Extended-A/B, IPA and spacing modifiers, combining marks, Greek and Coptic,
# Cyrillic and its supplement, phonetic extensions, Latin Extended Additional (Vietnamese), Greek
# Extended, general punctuation, super/subscripts, currency, letterlike symbols, number forms,
# Latin Extended-C/D/E, supplemental punctuation, alphabetic presentation forms (fi, fl), the BOM and
# the replacement character. Noto Sans has no arrows or mathematical operators: those come from the
# Chinese font below.
NOTO_SANS_UNICODES = ",".join([
    "U+0000-036F", "U+0370-03FF", "U+0400-052F", "U+1AB0-1AFF", "U+1C80-1C8F", "U+1D00-1DFF",
    "U+1E00-1FFF", "U+2000-206F", "U+2070-209F", "U+20A0-20CF", "U+20F0", "U+2100-214F",
    "U+2150-218F", "U+25CC", "U+2C60-2C7F", "U+2DE0-2DFF", "U+2E00-2E7F", "U+A640-A69F",
    "U+A700-A7FF", "U+AB30-AB6F", "U+FB00-FB06", "U+FE00-FE0F", "U+FE20-FE2F", "U+FEFF",
    "U+FFFC-FFFD",
])

# Arabic, Arabic Supplement, Arabic Extended-A, presentation forms A and B, plus the font's own
# Basic Latin / Latin-1 characters (space, digits, punctuation), the joiners and direction marks,
# and the dotted circle HarfBuzz shows an isolated mark on.
NOTO_ARABIC_UNICODES = ",".join([
    "U+0000-00FF", "U+0600-06FF", "U+0750-077F", "U+08A0-08FF", "U+FB50-FDFF", "U+FE70-FEFF",
    "U+200B-200F", "U+2010-2011", "U+204F", "U+25CC", "U+2E41", "U+034F",
])

# Besides GB 2312 (see gb2312_characters): Basic Latin, Latin-1 and general punctuation (Pango
# shapes the space between two Chinese words with the Chinese font: without U+0020 here it prints a
# .notdef there), CJK symbols and punctuation, halfwidth and fullwidth forms, and the symbol blocks
# Noto Sans lacks (arrows, mathematical operators, enclosed alphanumerics, box drawing, geometric
# shapes, miscellaneous symbols, dingbats such as the check mark), whatever of them the font has.
CJK_EXTRA_UNICODES = [
    # Every CJK Unified Ideograph, not only GB 2312's: names use characters outside it (镕, 喆, 堃,
    # and every Traditional one such as 臺), and one missing glyph garbles a PDF's text for readers.
    "U+4E00-9FFF",
    "U+0000-00FF", "U+2000-206F", "U+3000-303F", "U+FF00-FFEF", "U+2190-21FF", "U+2200-22FF", "U+2460-24FF", "U+2500-257F",
    "U+25A0-25FF", "U+2600-26FF", "U+2700-27BF",
]


def gb2312_characters() -> str:
    """Every character of GB 2312: the symbol rows 0xA1-0xA9 (punctuation, fullwidth Latin, kana,
    Greek, Cyrillic, pinyin, bopomofo, box drawing) and the 6,763 hanzi of rows 0xB0-0xF7."""
    chars = []
    for row in (*range(0xA1, 0xAA), *range(0xB0, 0xF8)):
        for cell in range(0xA1, 0xFF):
            try:
                chars.append(bytes((row, cell)).decode("gb2312"))
            except UnicodeDecodeError:
                continue  # an unassigned cell
    return "".join(chars)


def sc_face_index(ttc: Path) -> int:
    """The index of Noto Sans CJK SC (the proportional Simplified Chinese face) in the collection."""
    from fontTools.ttLib import TTCollection

    collection = TTCollection(str(ttc), lazy=True)
    for index, face in enumerate(collection.fonts):
        if face["name"].getDebugName(6) == "NotoSansCJKsc-Regular":
            return index
    raise SystemExit(f"no NotoSansCJKsc-Regular face in {ttc}")


def commands(src: Path, out: Path, text_file: Path) -> list[list[str]]:
    core = src / "usr/share/fonts/truetype/noto"
    ttc = src / "usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
    runs = []
    for name in ("NotoSans-Regular", "NotoSans-Bold", "NotoSans-Italic"):
        runs.append(["pyftsubset", str(core / f"{name}.ttf"), f"--unicodes={NOTO_SANS_UNICODES}",
                     "--layout-features=*", *COMMON, f"--output-file={out / f'{name}.ttf'}"])
    for name in ("NotoSansArabic-Regular", "NotoSansArabic-Bold"):
        runs.append(["pyftsubset", str(core / f"{name}.ttf"), f"--unicodes={NOTO_ARABIC_UNICODES}",
                     "--layout-features=*", *COMMON, f"--output-file={out / f'{name}.ttf'}"])
    # pyftsubset's default layout features less 'locl': the collection's faces share one glyph set,
    # and 'locl' would pull in the Japanese, Korean and Traditional Chinese form of every character
    # (13,932 glyphs and 2.9 MB instead of 8,160 and 1.7 MB). Text marked lang="ja" or "zh-Hant" then
    # prints with the Simplified Chinese forms, which is what this face is for.
    runs.append(["pyftsubset", str(ttc), f"--font-number={sc_face_index(ttc)}",
                 f"--text-file={text_file}", f"--unicodes={','.join(CJK_EXTRA_UNICODES)}",
                 "--layout-features-=locl", *COMMON, f"--output-file={out / 'NotoSansSC-Regular.otf'}"])
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, help="the directory dpkg-deb -x extracted both packages into")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--print", action="store_true", help="print the commands, run nothing")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        text_file = Path(tmp) / "gb2312.txt"
        text_file.write_text(gb2312_characters(), encoding="utf-8")
        for run in commands(args.src, args.out, text_file):
            print(shlex.join(run))
            if not args.print:
                args.out.mkdir(parents=True, exist_ok=True)
                subprocess.run([sys.executable, "-m", "fontTools.subset", *run[1:]], check=True)


if __name__ == "__main__":
    main()
