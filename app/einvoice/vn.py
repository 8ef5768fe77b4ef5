"""Vietnamese e-invoice XML (hóa đơn điện tử) -> :class:`EInvoice`.

The format of the General Department of Taxation for invoices under Decree
123/2020/NĐ-CP and Circular 78/2021/TT-BTC (data format of Decision 1450/QĐ-TCT,
later versions keep these elements): root ``HDon``, possibly inside a message
``TDiep/DLieu`` (as sent to and returned by the tax authority), with

* ``DLHDon/TTChung``: ``PBan`` (format version), ``KHMSHDon`` (template number:
  ``1`` VAT invoice, ``2`` sales invoice, ...), ``KHHDon`` (series, ``C24TAA``),
  ``SHDon`` (number), ``NLap`` (issue date ``YYYY-MM-DD``), ``DVTTe`` (currency, ISO
  4217), ``TGia`` (exchange rate);
* ``DLHDon/NDHDon/NBan`` and ``NMua``: ``Ten`` (name), ``MST`` (tax code: 10 digits,
  or 13 with a branch suffix ``-001``), ``DChi`` (address); a buyer without a company
  name has the person's name in ``HVTNMHang``;
* ``DLHDon/NDHDon/DSHHDVu/HHDVu`` (lines): ``TChat`` (kind: 1 goods/services,
  2 promotion, 3 commercial discount, 4 note), ``STT``, ``THHDVu`` (name), ``DVTinh``
  (unit), ``SLuong``, ``DGia``, ``ThTien`` (amount before tax), ``TSuat`` (rate:
  ``10%``, ``8%``, ``5%``, ``0%``, ``KCT``, ``KKKNT``);
* ``DLHDon/NDHDon/TToan``: ``TgTCThue`` (total before tax), ``TgTThue`` (total VAT),
  ``TTCKTMai`` (total commercial discount), ``TgTTTBSo`` (total payable, in digits).

A commercial-discount row (``TChat`` 3) states its amount as a positive number that
reduces the total; it is returned with a negative amount so that the rows add up to
``TgTCThue``.
"""

from __future__ import annotations

import datetime as _dt
from xml.etree.ElementTree import Element

from app.einvoice.model import EInvoice, EInvoiceLine
from app.einvoice.xmltree import children, decimal, find, local, text
from app.errors import InvalidXml

ROOT = "HDon"
#: Levels below the root searched for ``HDon`` (``TDiep/DLieu/HDon`` is at depth 2).
_MAX_DEPTH = 3


def find_hdon(root: Element) -> Element | None:
    """The ``HDon`` element: the root itself, or within :data:`_MAX_DEPTH` levels
    below it (``TDiep/DLieu/HDon``); None when there is none."""
    level = [root]
    for _ in range(_MAX_DEPTH + 1):
        for element in level:
            if local(element.tag) == ROOT and find(element, "DLHDon") is not None:
                return element
        level = [c for element in level for c in element]
    return None


def _date(raw: str | None) -> _dt.date | None:
    if raw is None:
        return None
    try:
        return _dt.date.fromisoformat(raw[:10])
    except ValueError:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise InvalidXml(f"NLap holds {shown!r}, not a date YYYY-MM-DD") from None


def _rate(raw: str | None) -> str | None:
    if raw is None:
        return None
    return raw[:-1].strip() if raw.endswith("%") else raw


def _line(item: Element) -> EInvoiceLine:
    amount = decimal(item, "ThTien")
    if amount is not None and text(item, "TChat") == "3":
        amount = -amount
    return EInvoiceLine(line_id=text(item, "STT"), description=text(item, "THHDVu"),
                        quantity=decimal(item, "SLuong"), unit=text(item, "DVTinh"),
                        unit_price=decimal(item, "DGia"), amount=amount, tax_rate=_rate(text(item, "TSuat")))


def read_vn(hdon: Element) -> EInvoice:
    """Read a Vietnamese e-invoice.

    Args:
        hdon: the ``HDon`` element (:func:`find_hdon`).

    Raises:
        InvalidXml: an amount that is not a decimal, ``NLap`` not a date.
    """
    general = find(hdon, "DLHDon/TTChung")
    content = find(hdon, "DLHDon/NDHDon")
    seller, buyer = find(content, "NBan"), find(content, "NMua")
    totals = find(content, "TToan")
    return EInvoice(
        format="vn",
        profile=text(general, "PBan"),
        type_code=text(general, "KHMSHDon"),
        invoice_number=text(general, "SHDon"),
        invoice_series=text(general, "KHHDon"),
        date=_date(text(general, "NLap")),
        currency=text(general, "DVTTe"),
        seller=text(seller, "Ten"), seller_tax_code=text(seller, "MST"), seller_address=text(seller, "DChi"),
        buyer=text(buyer, "Ten") or text(buyer, "HVTNMHang"), buyer_tax_code=text(buyer, "MST"),
        buyer_address=text(buyer, "DChi"),
        subtotal=decimal(totals, "TgTCThue"),
        tax_amount=decimal(totals, "TgTThue"),
        total=decimal(totals, "TgTTTBSo"),
        allowance_total=decimal(totals, "TTCKTMai"),
        lines=tuple(_line(item) for item in children(find(content, "DSHHDVu"), "HHDVu")),
    )
