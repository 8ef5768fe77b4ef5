"""Seeded, reproducible corpus of malformed uploads and configs for the fuzz suite.

:func:`generate(seed, n)` returns ``n`` :class:`Case` objects, the same ones for
the same seed on every machine (only :class:`random.Random` seeded with
``seed``, Pillow's encoders and the standard library are used). Families, drawn
in turn so that any ``n`` mixes them all:

* ``trunc``   — a valid image (PNG, JPEG, GIF, WEBP, BMP, TIFF) cut at a random offset;
* ``mutate``  — a valid image with 1-16 random bytes overwritten (often in the header);
* ``bomb``    — headers claiming huge sizes (PNG IHDR with a fixed CRC, GIF screen,
  BMP), a highly compressible image over the pixel limit, a 1000-frame GIF;
* ``mode``    — 16-bit, 32-bit, float, LA, RGBA, palette with transparency, CMYK,
  1-bit, animated, EXIF-rotated images;
* ``shape``   — tiny, one-pixel-high and extreme aspect-ratio images;
* ``notimage``— empty, text, HTML, SVG, PDF header, ZIP, random bytes, and a PDF
  whose text layer holds astral-plane characters as UTF-16 surrogates;
* ``config``  — ``/extract`` with configs of any shape: deep nesting, huge keys and
  values, NaN/Infinity, duplicate keys, huge integers, wrong types, unknown keys;
* ``batch``   — 2-6 files mixing valid and invalid ones;
* ``multipart``— raw bodies: no/wrong boundary, unterminated, parts without
  filename or Content-Disposition, duplicate fields, odd filenames, wrong
  Content-Type, a config over the form-field memory limit;
* ``param``   — ``display_text_box`` values of any kind, sent once or twice.

After them, fixed XML cases (:data:`XML_CASES`: XXE, "billion laughs", external DTDs,
malformed and foreign XML, bad numbers, deep nesting) on both routes.

A case is sent either as ``files`` + ``form`` (encoded by ``requests``) or as a
``raw`` body with its own ``Content-Type``.
"""

from __future__ import annotations

import io
import json
import random
import struct
import zlib
from dataclasses import dataclass, field

from PIL import Image

from tests.synthetic.astral_pdf import astral_text_pdf

IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")


@dataclass
class Case:
    """One request of the corpus.

    Attributes:
        name: ``family-index`` plus a short description (shown on failure).
        path: ``/ocr`` or ``/extract``.
        files: ``(field, filename, bytes, content_type)`` parts.
        form: ``(field, value)`` text parts.
        raw: a whole body to send instead of ``files``/``form``.
        content_type: the Content-Type of ``raw``.
    """

    name: str
    path: str
    files: list[tuple[str, str | None, bytes, str]] = field(default_factory=list)
    form: list[tuple[str, str]] = field(default_factory=list)
    raw: bytes | None = None
    content_type: str | None = None


def _image(rng: random.Random, fmt: str, width: int | None = None, height: int | None = None) -> bytes:
    width = width or rng.randint(8, 96)
    height = height or rng.randint(8, 96)
    img = Image.new("RGB", (width, height), (255, 255, 255))
    px = img.load()
    for _ in range(rng.randint(0, 40)):  # a few dark marks so encoders have something to code
        px[rng.randrange(width), rng.randrange(height)] = (0, 0, 0)
    buf = io.BytesIO()
    if fmt == "GIF":
        img = img.convert("P")
    img.save(buf, format=fmt)
    return buf.getvalue()


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose IHDR (valid CRC) claims ``width`` x ``height`` with a tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + _png_chunk(b"IEND", b""))


def _bomb(rng: random.Random, i: int) -> tuple[str, bytes]:
    kind = i % 6
    if kind == 0:
        w, h = rng.choice([(100000, 100000), (65535, 65535), (2**31 - 1, 1), (1, 2**31 - 1), (50000, 400)])
        return f"png-claims-{w}x{h}", png_claiming(w, h)
    if kind == 1:
        # 2400 x 2400 of one colour: a few kB of PNG over the test's pixel limit
        return "png-compressible-2400", _save(Image.new("1", (2400, 2400), 1), "PNG", optimize=True)
    if kind == 2:
        gif = bytearray(_image(rng, "GIF", 16, 16))
        gif[6:10] = struct.pack("<HH", 65535, 65535)  # logical screen size
        return "gif-screen-65535", bytes(gif)
    if kind == 3:
        bmp = bytearray(_image(rng, "BMP", 16, 16))
        bmp[18:26] = struct.pack("<ii", rng.choice([100000, -100000, 2**31 - 1]), rng.choice([100000, -1, 1]))
        return "bmp-claims-huge", bytes(bmp)
    if kind == 4:
        frames = [Image.new("P", (16, 16), c % 256) for c in range(300)]
        return "gif-300-frames", _save(frames[0], "GIF", save_all=True, append_images=frames[1:])
    tiff = bytearray(_image(rng, "TIFF", 16, 16))
    pos = rng.randrange(8, max(9, len(tiff) - 4))
    tiff[pos:pos + 4] = b"\xff\xff\xff\x7f"
    return "tiff-mutated-ifd", bytes(tiff)


def _mode(rng: random.Random, i: int) -> tuple[str, bytes]:
    import numpy as np

    w, h = rng.randint(8, 64), rng.randint(8, 64)
    kind = i % 12
    if kind == 0:
        return "png-16bit", _save(Image.fromarray(np.full((h, w), rng.randrange(65536), np.uint16)), "PNG")
    if kind == 1:
        return "tiff-int32", _save(Image.fromarray(np.full((h, w), rng.randrange(-2**31, 2**31), np.int32)), "TIFF")
    if kind == 2:
        value = rng.choice([0.5, -1e30, 1e30, float("nan"), float("inf")])
        return "tiff-float", _save(Image.fromarray(np.full((h, w), value, np.float32)), "TIFF")
    if kind == 3:
        return "png-LA", _save(Image.new("LA", (w, h), (rng.randrange(256), rng.randrange(256))), "PNG")
    if kind == 4:
        return "png-RGBA-clear", _save(Image.new("RGBA", (w, h), (0, 0, 0, 0)), "PNG")
    if kind == 5:
        return "png-P-transparency", _save(Image.new("P", (w, h), 3), "PNG", transparency=3)
    if kind == 6:
        return "jpeg-CMYK", _save(Image.new("CMYK", (w, h), (0, 0, 0, rng.randrange(256))), "JPEG")
    if kind == 7:
        return "png-1bit", _save(Image.new("1", (w, h), 1), "PNG")
    if kind == 8:
        frames = [Image.new("P", (w, h), c) for c in range(rng.randint(2, 10))]
        return "gif-animated", _save(frames[0], "GIF", save_all=True, append_images=frames[1:])
    if kind == 9:
        img = Image.new("RGB", (w, h), (255, 255, 255))
        exif = Image.Exif()
        exif[0x0112] = rng.choice([0, 1, 3, 6, 8, 9, 255, 65535])  # Orientation, valid and not
        return "jpeg-exif-orientation", _save(img, "JPEG", exif=exif.tobytes())
    if kind == 10:
        return "tiff-I16", _save(Image.new("I;16", (w, h), rng.randrange(65536)), "TIFF")
    frames = [Image.new("RGB", (w, h), (c, c, c)) for c in (0, 128, 255)]
    return "webp-animated", _save(frames[0], "WEBP", save_all=True, append_images=frames[1:])


SHAPES = [(1, 1), (1, 5000), (5000, 1), (2, 500), (500, 2), (3, 3000), (7, 3000), (16, 3000), (3000, 16),
          (7, 7), (8, 8), (8, 900), (900, 8), (1, 64), (64, 1), (9, 900), (32, 3000), (3000, 32)]


def _shape(rng: random.Random, i: int) -> tuple[str, bytes]:
    w, h = SHAPES[i % len(SHAPES)]
    fmt = rng.choice(("PNG", "GIF", "BMP", "TIFF", "WEBP", "JPEG"))
    if fmt in ("WEBP", "JPEG") and max(w, h) > 16383:
        fmt = "PNG"
    img = Image.new("RGB", (w, h), (255, 255, 255))
    return f"{fmt.lower()}-{w}x{h}", _save(img.convert("P") if fmt == "GIF" else img, fmt)


NOT_IMAGES = [
    b"", b"\x00", b"hello world", b"<html><body>hi</body></html>",
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
    b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", b"PK\x03\x04" + b"\x00" * 26,
    b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"BM", b"II*\x00", b"RIFF\x00\x00\x00\x00WEBP",
    "tiếng Việt".encode(), b"{\"info\": 1}",
    astral_text_pdf(),  # a text layer of UTF-16 surrogates (emoji, a lone half)
]

#: XML an e-invoice upload may be (app/einvoice): entity bombs and external references (400
#: XML_FORBIDDEN on /extract, XML_HAS_NO_PAGES on /ocr, never parsed there), malformed and
#: foreign XML, numbers no schema allows, deep nesting, an unknown encoding. Sent to both
#: routes after the seeded cases (no draw from the seeded generator, so the other cases of a
#: seed stay what they were).
XML_CASES = [
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><HDon>&x;</HDon>',
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' + b"".join(
        b'<!ENTITY a%d "%s">' % (i, (b"&a%d;" % (i - 1) if i > 1 else b"&a;") * 10) for i in range(1, 10))
    + b"]><HDon>&a9;</HDon>",
    b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/r.dtd"><r/>',
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p">%p;]><r/>',
    b'<?xml version="1.0"?><rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:'
    b'CrossIndustryInvoice:100"><rsm:ExchangedDocument><ram:ID',
    b"<HDon><DLHDon><NDHDon><TToan><TgTTTBSo>NaN</TgTTTBSo></TToan></NDHDon></DLHDon></HDon>",
    b"<HDon><DLHDon><NDHDon><TToan><TgTTTBSo>" + b"9" * 5000 + b"</TgTTTBSo></TToan></NDHDon></DLHDon></HDon>",
    b"<HDon><DLHDon>" + b"<x>" * 20000 + b"</x>" * 20000 + b"</DLHDon></HDon>",
    b"<?xml version='1.0' encoding='x-unknown'?><HDon/>",
    b"<?xml version='1.0'?><note>not an invoice</note>",
]


def _config(rng: random.Random, i: int) -> tuple[str, str]:
    kind = i % 16
    depth = rng.choice([10, 100, 999, 1000, 5000, 50000])
    if kind == 0:
        return f"nested-list-{depth}", "[" * depth + "]" * depth
    if kind == 1:
        return f"nested-object-{depth}", '{"info": ' + '{"a": ' * depth + '"x"' + "}" * depth + "}"
    if kind == 2:
        return "huge-int", '{"document_type": "receipt", "batch_size": ' + "9" * rng.choice([31, 4301, 5000, 20000]) + "}"
    if kind == 3:
        const = rng.choice(["NaN", "Infinity", "-Infinity"])
        return f"constant-{const}", '{"document_type": "receipt", "llm_timeout": ' + const + "}"
    if kind == 4:
        return "duplicate-keys", '{"info": {"a": "b"}, "info": {"c": "d"}, "mode": "schema"}'
    if kind == 5:
        n = rng.choice([51, 1000, 10000])
        return f"unknown-keys-{n}", json.dumps({"document_type": "receipt", **{f"k{j}": j for j in range(n)}})
    if kind == 6:
        return "huge-key", json.dumps({"info": {"x" * rng.choice([101, 5000, 200000]): "d"}})
    if kind == 7:
        return "huge-value", json.dumps({"info": {"a": "v" * rng.choice([1001, 100000, 250000])}})
    if kind == 8:
        return "many-fields", json.dumps({"info": {f"f{j}": "d" for j in range(rng.choice([51, 500, 5000]))}})
    if kind == 9:
        value = rng.choice([None, True, 1, -1, 1.5, "x", [], {}, [1], {"a": 1}, "", " ", 1e308, -0.0])
        key = rng.choice(["info", "document_type", "mode", "parallel", "batch_size", "llm_timeout",
                          "display_text_box"])
        return f"wrong-type-{key}", json.dumps({"document_type": "receipt", key: value})
    if kind == 10:
        return "not-object", rng.choice(["[]", "1", '"x"', "null", "true", "1e999", "-", "{", "}", "\x00",
                                          '{"a":}', "{'info': 1}", "\ufeff{}", "{}"])
    if kind == 11:
        return "float-forms", '{"document_type": "receipt", "llm_timeout": ' + rng.choice(
            ["1e999", "-1e999", "1." + "5" * 50000, "0e0", "1E-400", "00", "-0", "0x10", ".5", "5."]) + "}"
    if kind == 12:
        return "unicode", json.dumps({"info": {"\u0000": "\ud800"[:0] + "\u202e", "tên": "tổng tiền"}},
                                     ensure_ascii=rng.random() < 0.5)
    if kind == 13:
        return "surrogates", '{"info": {"a": "\\ud800\\udfff\\ud800"}}'
    if kind == 14:
        return "random-bytes", "".join(chr(rng.randrange(0x20, 0x7F)) for _ in range(rng.randint(1, 300)))
    return "valid", json.dumps({"document_type": rng.choice(["receipt", "invoice", "cccd_front"]),
                                "mode": rng.choice(["per_field", "schema"]), "batch_size": rng.randint(1, 16)})


def _multipart(rng: random.Random, i: int) -> Case:
    png = _image(rng, "PNG", 24, 24)
    kind = i % 14
    b = "fuzzb" + str(rng.randrange(10**6))
    crlf = b"\r\n"

    def part(headers: list[bytes], body: bytes) -> bytes:
        return b"--" + b.encode() + crlf + crlf.join(headers) + crlf + crlf + body + crlf

    end = b"--" + b.encode() + b"--" + crlf
    ok_file = part([b'Content-Disposition: form-data; name="image_file"; filename="a.png"',
                    b"Content-Type: image/png"], png)
    mp = f"multipart/form-data; boundary={b}"
    path = rng.choice(["/ocr", "/extract"])
    cfg = part([b'Content-Disposition: form-data; name="config"'], b'{"document_type": "receipt"}')
    if kind == 0:
        return Case(f"multipart-{i}-no-boundary", path, raw=ok_file + cfg + end, content_type="multipart/form-data")
    if kind == 1:
        return Case(f"multipart-{i}-wrong-boundary", path, raw=ok_file + cfg + end,
                    content_type="multipart/form-data; boundary=other")
    if kind == 2:
        cut = rng.randrange(1, len(ok_file))
        return Case(f"multipart-{i}-unterminated", path, raw=(cfg + ok_file)[:cut + len(cfg)], content_type=mp)
    if kind == 3:
        no_name = part([b'Content-Disposition: form-data; name="image_file"', b"Content-Type: image/png"], png)
        return Case(f"multipart-{i}-file-without-filename", path, raw=cfg + no_name + end, content_type=mp)
    if kind == 4:
        no_cd = part([b"Content-Type: image/png"], png)
        return Case(f"multipart-{i}-no-content-disposition", path, raw=cfg + no_cd + end, content_type=mp)
    if kind == 5:
        return Case(f"multipart-{i}-duplicate-config", "/extract", raw=cfg + cfg + ok_file + end, content_type=mp)
    if kind == 6:
        name = rng.choice([b"../../etc/passwd", b"a" * 5000 + b".png", b"\xff\xfe.png", b"a\x00b.png", b"",
                           b"C:\\\\x.png", b"%00.png", "ảnh.png".encode()])
        odd = part([b'Content-Disposition: form-data; name="image_file"; filename="' + name + b'"'], png)
        return Case(f"multipart-{i}-odd-filename", path, raw=cfg + odd + end, content_type=mp)
    if kind == 7:
        ctype = rng.choice(["application/json", "text/plain", "application/x-www-form-urlencoded",
                            "image/png", "multipart/mixed; boundary=" + b, "", "multipart/form-data; boundary="])
        return Case(f"multipart-{i}-content-type-{ctype[:20]}", path, raw=ok_file + cfg + end, content_type=ctype)
    if kind == 8:
        big = part([b'Content-Disposition: form-data; name="config"'], b'{"info": {"a": "' + b"x" * 600_000 + b'"}}')
        return Case(f"multipart-{i}-config-over-form-memory", "/extract", raw=big + ok_file + end, content_type=mp)
    if kind == 9:
        return Case(f"multipart-{i}-empty-body", path, raw=b"", content_type=mp)
    if kind == 10:
        junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 400)))
        return Case(f"multipart-{i}-junk", path, raw=junk, content_type=mp)
    if kind == 11:
        text_file = part([b'Content-Disposition: form-data; name="image_file"'], b"x" * 600_000)
        return Case(f"multipart-{i}-big-file-as-text", path, raw=cfg + text_file + end, content_type=mp)
    if kind == 12:
        parts = b"".join(part([b'Content-Disposition: form-data; name="f%d"' % j], b"v") for j in range(1100))
        return Case(f"multipart-{i}-1100-parts", path, raw=parts + ok_file + cfg + end, content_type=mp)
    headers = [b'Content-Disposition: form-data; name="image_file"; filename="a.png"; filename*=UTF-8\'\'%E1.png',
               b"Content-Type: " + rng.choice([b"image/png", b"text/html", b"\xff", b""])]
    return Case(f"multipart-{i}-header-quirks", path, raw=cfg + part(headers, png) + end, content_type=mp)


def generate(seed: int = 20261201, n: int = 2000) -> list[Case]:
    """The corpus: ``n`` cases from ``seed`` (same seed, same cases), then the fixed
    :data:`XML_CASES` on ``/extract`` and ``/ocr``."""
    rng = random.Random(seed)
    families = ("trunc", "mutate", "bomb", "mode", "shape", "notimage", "config", "batch", "multipart", "param")
    cases: list[Case] = []
    for i in range(n):
        family = families[i % len(families)]
        k = i // len(families)
        path = "/ocr" if rng.random() < 0.5 else "/extract"
        form = [("config", '{"document_type": "receipt"}')] if path == "/extract" else []
        if family == "trunc":
            fmt = rng.choice(IMAGE_FORMATS)
            data = _image(rng, fmt)
            cut = rng.randrange(0, len(data))
            cases.append(Case(f"trunc-{i}-{fmt}-at-{cut}", path, [("image_file", f"t.{fmt.lower()}", data[:cut],
                                                                    "application/octet-stream")], form))
        elif family == "mutate":
            fmt = rng.choice(IMAGE_FORMATS)
            data = bytearray(_image(rng, fmt))
            for _ in range(rng.randint(1, 16)):
                pos = rng.randrange(0, min(len(data), 64)) if rng.random() < 0.7 else rng.randrange(len(data))
                data[pos] = rng.randrange(256)
            cases.append(Case(f"mutate-{i}-{fmt}", path, [("image_file", "m.img", bytes(data), "image/png")], form))
        elif family == "bomb":
            name, data = _bomb(rng, k)
            cases.append(Case(f"bomb-{i}-{name}", path, [("image_file", "b.img", data, "image/png")], form))
        elif family == "mode":
            name, data = _mode(rng, k)
            cases.append(Case(f"mode-{i}-{name}", path, [("image_file", "x.img", data, "image/png")], form))
        elif family == "shape":
            name, data = _shape(rng, k)
            cases.append(Case(f"shape-{i}-{name}", path, [("image_file", "s.img", data, "image/png")], form))
        elif family == "notimage":
            data = NOT_IMAGES[k % len(NOT_IMAGES)] if k < 2 * len(NOT_IMAGES) else bytes(
                rng.randrange(256) for _ in range(rng.randint(1, 2000)))
            cases.append(Case(f"notimage-{i}", path, [("image_file", "n.bin", data, "application/octet-stream")],
                              form))
        elif family == "config":
            name, config = _config(rng, k)
            cases.append(Case(f"config-{i}-{name}", "/extract",
                              [("image_file", "c.png", _image(rng, "PNG", 32, 32), "image/png")], [("config", config)]))
        elif family == "batch":
            files = []
            for j in range(rng.randint(2, 6)):
                pick = rng.random()
                if pick < 0.4:
                    data = _image(rng, rng.choice(IMAGE_FORMATS))
                elif pick < 0.6:
                    data = _image(rng, "PNG")[: rng.randint(0, 40)]
                elif pick < 0.8:
                    data = _shape(rng, rng.randrange(len(SHAPES)))[1]
                else:
                    data = _mode(rng, rng.randrange(12))[1]
                files.append(("image_file", rng.choice([f"f{j}.png", None, ""]), data, "image/png"))
            cases.append(Case(f"batch-{i}-{len(files)}", path, files, form))
        elif family == "multipart":
            cases.append(_multipart(rng, k))
        else:
            value = rng.choice(["true", "false", "1", "0", "yes", "", " ", "maybe", "TRUE", "\x00",
                                "x" * rng.choice([10, 10000]), "tru\u0435"])
            extra = [("display_text_box", value)] * rng.choice([1, 1, 2])
            cases.append(Case(f"param-{i}", path, [("image_file", "p.png", _image(rng, "PNG"), "image/png")],
                              form + extra))
    for j, data in enumerate(XML_CASES):
        for path in ("/extract", "/ocr"):
            form = [("config", '{"document_type": "invoice"}')] if path == "/extract" else []
            cases.append(Case(f"xml-{j}-{path[1:]}", path, [("image_file", "e.xml", data, "application/xml")], form))
    return cases
