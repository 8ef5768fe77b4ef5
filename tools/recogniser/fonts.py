"""Fonts for synthetic Vietnamese lines: Debian packages, licences and glyph coverage.

A font is used only when its character map (read with fontTools, MIT) holds
every character of :data:`REQUIRED` (the 134 Vietnamese letters outside ASCII,
ASCII letters, digits and the punctuation the corpus prints). Italic, oblique
and the thinnest and heaviest weights are left out (receipts and ID cards do not
use them). Licences are those of the font files in each package's
``/usr/share/doc/<package>/copyright`` (Debian bookworm); rendering text with a
font does not make the rendered images or a model trained on them a copy of the
font software.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

FONT_ROOT = Path("/usr/share/fonts/truetype")

#: Font folder under FONT_ROOT -> (Debian package(s), licence of the font files).
PACKAGES: dict[str, tuple[str, str]] = {
    "dejavu": ("fonts-dejavu-core, fonts-dejavu-extra", "Bitstream Vera Fonts licence (DejaVu changes public domain)"),
    "liberation": ("fonts-liberation", "GPL-2 with font exception (Liberation 1.x)"),
    "liberation2": ("fonts-liberation2", "SIL OFL 1.1"),
    "freefont": ("fonts-freefont-ttf", "GPL-3+ with Special Font Exception"),
    "noto": ("fonts-noto-core, fonts-noto-mono", "SIL OFL 1.1"),
    "roboto": ("fonts-roboto-unhinted", "Apache-2.0"),
    "open-sans": ("fonts-open-sans", "Apache-2.0"),
    "croscore": ("fonts-croscore", "SIL OFL 1.1"),
}

#: The Debian packages to install for the full font set (``apt-get install -y ...``).
DEBIAN_PACKAGES = ("fonts-dejavu-core", "fonts-dejavu-extra", "fonts-liberation2", "fonts-freefont-ttf",
                   "fonts-noto-core", "fonts-noto-mono", "fonts-roboto-unhinted", "fonts-open-sans", "fonts-croscore")

_VOWELS = "aăâeêioôơuưy"
_TONES = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
#: The 134 Vietnamese letters outside ASCII (both cases).
VIETNAMESE_LETTERS = frozenset(
    c for v in _VOWELS for t in _TONES for c in (unicodedata.normalize("NFC", v + t), unicodedata.normalize("NFC", v.upper() + t))
    if not c.isascii()
) | {"đ", "Đ"}
#: What a font must be able to draw.
REQUIRED = VIETNAMESE_LETTERS | frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.-:;'\"?!()/%+&=*#@_")

#: Style words in file names that are not used.
EXCLUDED_STYLES = re.compile(r"Italic|Oblique|Thin|ExtraLight|Light|Black|ExtraBold|Heavy|Math|Display|"
                             r"ExtraCondensed|SemiCondensed|Emoji|Symbols", re.I)


@dataclass(frozen=True)
class Font:
    """One usable font file.

    Attributes:
        path: the ``.ttf``/``.otf`` file.
        package: the Debian package that ships it.
        licence: the font files' licence in that package.
        monospace: every glyph has the same advance (receipt printers' look).
    """

    path: Path
    package: str
    licence: str
    monospace: bool


def covers(path: Path, required=REQUIRED) -> bool:
    """Whether the font's best Unicode character map holds every character of ``required``.

    Raises:
        OSError / fontTools errors: the file is not a readable font.
    """
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True, fontNumber=0) as font:
        cmap = font.getBestCmap() or {}
    return all(ord(c) in cmap for c in required)


def _monospace(path: Path) -> bool:
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True) as font:
        post = font["post"] if "post" in font else None
        return bool(post and post.isFixedPitch)


@functools.lru_cache(maxsize=4)
def vietnamese_fonts(root: Path = FONT_ROOT) -> tuple[Font, ...]:
    """Every font under ``root`` (Debian's TrueType folder) from a package of
    :data:`PACKAGES` that covers :data:`REQUIRED`, in sorted path order.

    Returns:
        The fonts (empty when none of the packages is installed).
    """
    out = []
    for folder, (package, licence) in sorted(PACKAGES.items()):
        for path in sorted((root / folder).rglob("*.[ot]tf")) if (root / folder).is_dir() else []:
            if EXCLUDED_STYLES.search(path.stem):
                continue
            try:
                if not covers(path):
                    continue
                mono = _monospace(path)
            except Exception:  # unreadable or unusual font file: not used
                continue
            out.append(Font(path=path, package=package, licence=licence, monospace=mono))
    return tuple(out)
