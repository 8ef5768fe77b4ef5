"""A one-page PDF whose text layer holds astral-plane characters as UTF-16 surrogates.

Born-digital invoices (some French Factur-X samples among them) carry emoji and
other characters beyond U+FFFF in their text layer; PDFium hands those out as two
UTF-16 code units, a high and a low surrogate. This builds such a page with the
standard library only (so the fuzz corpus can use it): Helvetica with a
``/ToUnicode`` CMap (PDF 32000-1:2008 §9.10.3) that maps three byte codes to

* ``<01>`` -> ``<D83DDE00>`` U+1F600 GRINNING FACE (a surrogate pair),
* ``<02>`` -> ``<D835DC00>`` U+1D400 MATHEMATICAL BOLD CAPITAL A (a pair),
* ``<03>`` -> ``<D83D>`` a lone high surrogate (a broken CMap),

and every other code to itself (ASCII). Lines (PDF points, A4):
``Invoice No. INV-2031 \\x01``, ``Total: 12.50 EUR \\x02``, ``Thank you \\x03``.
"""

from __future__ import annotations

LINES = ("Invoice No. INV-2031 \x01", "Total: 12.50 EUR \x02", "Thank you \x03")
#: What the text layer should read as, once made valid (the lone half replaced).
EXPECTED = ("Invoice No. INV-2031 \U0001F600", "Total: 12.50 EUR \U0001D400", "Thank you \ufffd")

_CMAP = b"""/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<00> <FF>
endcodespacerange
3 beginbfchar
<01> <D83DDE00>
<02> <D835DC00>
<03> <D83D>
endbfchar
1 beginbfrange
<20> <7E> <0020>
endbfrange
endcmap
CMapName currentdict /CMap defineresource pop
end
end
"""


def _escape(text: str) -> bytes:
    raw = text.encode("latin-1")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def astral_text_pdf() -> bytes:
    """The PDF's bytes (about 1.5 kB; a valid cross-reference table)."""
    content = b"BT /F1 14 Tf\n" + b"".join(
        b"1 0 0 1 72 %d Tm (%s) Tj\n" % (770 - 30 * i, _escape(text)) for i, text in enumerate(LINES)) + b"ET\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(_CMAP) + _CMAP + b"endstream",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
