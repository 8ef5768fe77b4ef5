"""Safe XML parsing and namespace-agnostic lookups for the e-invoice readers.

Parsing goes through ``defusedxml`` (Python Software Foundation licence) with every
dangerous construct refused before anything is expanded or fetched: a document type
declaration (``forbid_dtd``), entity declarations (``forbid_entities``: "billion
laughs", quadratic blow-up) and external references (``forbid_external``: XXE).
E-invoice formats never need a DTD (CII, UBL and the Vietnamese format are defined
by XML Schemas), so refusing any DTD costs nothing. Nothing is fetched from the
network. Parsing is iterative (expat), so deep nesting cannot exhaust the stack.

Lookups match elements by local name, ignoring namespace prefixes and URIs, so one
path serves every namespace version a format has been published with.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

from app.errors import InvalidXml, XmlForbidden

#: A decimal as XML Schema ``xs:decimal`` writes it (no exponent, no NaN), at most
#: 20 integer and 10 fraction digits (no e-invoice amount needs more).
_DECIMAL = re.compile(r"[+-]?(?:\d{1,20}(?:\.\d{0,10})?|\.\d{1,10})")


def parse_xml(data: bytes) -> Element:
    """Parse XML bytes safely.

    Args:
        data: the document (any encoding its declaration names; UTF-8 by default).

    Returns:
        The root element.

    Raises:
        XmlForbidden: a DTD, an entity declaration or an external reference (400).
        InvalidXml: not well-formed XML (400).
    """
    import defusedxml
    from defusedxml.ElementTree import fromstring

    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden as e:
        raise XmlForbidden("The XML declares a document type (DTD); e-invoice XML needs none and it is not "
                           "accepted (it could define entities or fetch external files)") from e
    except defusedxml.EntitiesForbidden as e:
        raise XmlForbidden("The XML declares entities; they are not accepted (entity expansion bombs)") from e
    except defusedxml.ExternalReferenceForbidden as e:
        raise XmlForbidden("The XML refers to an external resource; nothing is fetched") from e
    except defusedxml.DefusedXmlException as e:  # any other construct defusedxml refuses
        raise XmlForbidden(f"The XML holds a construct that is not accepted ({type(e).__name__})") from e
    except ParseError as e:
        line, column = getattr(e, "position", (None, None))
        raise InvalidXml(f"The XML is not well-formed (line {line}, column {column})") from e
    except (ValueError, LookupError) as e:  # an encoding the parser does not know, a NUL byte, ...
        raise InvalidXml("The XML cannot be decoded (its encoding declaration or its bytes are invalid)") from e


def local(tag: object) -> str:
    """An element's local name (``{urn:...}ID`` -> ``ID``); ``""`` for comments and PIs."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def namespace(tag: object) -> str:
    """An element's namespace URI (``""`` when it has none)."""
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def children(element: Element | None, name: str) -> list[Element]:
    """The child elements of ``element`` with local name ``name``, in order."""
    return [] if element is None else [c for c in element if local(c.tag) == name]


def find(element: Element | None, path: str) -> Element | None:
    """The first element along ``path`` (local names joined by ``/``), or None."""
    for name in path.split("/"):
        if element is None:
            return None
        element = next((c for c in element if local(c.tag) == name), None)
    return element


def find_all(element: Element | None, path: str) -> list[Element]:
    """Every element at ``path``: all matches of its last step under the first match of the others."""
    head, _, last = path.rpartition("/")
    return children(find(element, head) if head else element, last)


def clean(text: str | None) -> str | None:
    """NFC text with whitespace collapsed; None when empty."""
    if text is None:
        return None
    value = " ".join(unicodedata.normalize("NFC", text).split())
    return value or None


def text(element: Element | None, path: str | None = None) -> str | None:
    """The cleaned text of ``element`` (or of the element at ``path`` under it), or None."""
    target = find(element, path) if path else element
    return None if target is None else clean("".join(target.itertext()))


def decimal(element: Element | None, path: str | None = None) -> Decimal | None:
    """The ``xs:decimal`` value at ``path`` (``"1234.50"`` -> ``Decimal("1234.50")``), None when absent.

    Raises:
        InvalidXml: the element holds something that is not a decimal number
            (the message names the element; its value is clipped).
    """
    raw = text(element, path)
    if raw is None:
        return None
    value = raw.replace(" ", "")
    if not _DECIMAL.fullmatch(value):
        where = path.rsplit("/", 1)[-1] if path else local(element.tag)
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise InvalidXml(f"Element {where} holds {shown!r}, not a decimal number")
    try:
        return Decimal(value)
    except InvalidOperation as e:  # pragma: no cover - the pattern admits only valid decimals
        raise InvalidXml(f"Element {path} is not a decimal number") from e
