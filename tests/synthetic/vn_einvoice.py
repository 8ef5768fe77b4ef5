"""Vietnamese e-invoice XML (Decree 123/2020/NĐ-CP, Circular 78/2021/TT-BTC) for tests.

Built from a synthetic Vietnamese invoice of :mod:`tests.synthetic.kv_invoices`, in the
tax authority's data format: ``HDon/DLHDon`` with ``TTChung`` (``PBan``, ``THDon``,
``KHMSHDon``, ``KHHDon``, ``SHDon``, ``NLap``, ``DVTTe``, ``TGia``, ``HTTToan``),
``NDHDon/NBan`` and ``NMua`` (``Ten``, ``MST``, ``DChi``), ``NDHDon/DSHHDVu/HHDVu`` lines
(``TChat``, ``STT``, ``THHDVu``, ``DVTinh``, ``SLuong``, ``DGia``, ``ThTien``, ``TSuat``)
and ``NDHDon/TToan`` (``THTTLTSuat``, ``TgTCThue``, ``TgTThue``, ``TTCKTMai``,
``TgTTTBSo``, ``TgTTTBChu``); optionally inside the message envelope ``TDiep/DLieu``
with the tax authority's code ``MCCQT``. Generated at test time; nothing is committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape

from tests.synthetic.einvoices import rate_of
from tests.synthetic.kv_invoices import KvDocument, make_kv_document


@dataclass
class VnInvoice:
    """One generated Vietnamese e-invoice.

    Attributes:
        xml: the UTF-8 XML bytes.
        doc: the synthetic document it was made from (``doc.normalized``: the truth,
            ``doc.items``: the lines before any discount row).
        series: ``KHHDon``; template: ``KHMSHDon``; discount: the commercial discount
            row's amount (0: none), VND.
    """

    xml: bytes
    doc: KvDocument
    series: str
    template: str
    discount: Decimal


def make_vn_einvoice(seed: int, index: int, *, wrap: bool = False, discount: bool = False) -> VnInvoice:
    """Document ``index`` of ``seed`` as a Vietnamese e-invoice.

    Args:
        seed, index: passed to :func:`make_kv_document` (Vietnamese, layout ``vn``).
        wrap: put ``HDon`` inside ``TDiep/DLieu`` (a message to or from the tax authority).
        discount: add a commercial-discount row (``TChat`` 3) of 10 % of the first line;
            the totals (and ``doc.normalized``) then account for it.
    """
    doc = make_kv_document(seed, index, language="vi", layout="vn", kind="invoice")
    n, rate = doc.normalized, rate_of(doc)
    e = lambda s: escape(str(s))  # noqa: E731
    series = f"C{int(n['date'][2:4]):02d}TAA"
    rows = [(1, k, item.description, "cái", item.quantity, item.unit_price, item.amount)
            for k, item in enumerate(doc.items, 1)]
    off = Decimal(0)
    if discount:
        off = (doc.items[0].amount / 10).quantize(Decimal(1))
        rows.append((3, len(rows) + 1, "Chiết khấu thương mại", None, None, None, off))
        subtotal = Decimal(n["subtotal"]) - off
        tax = (subtotal * rate / 100).quantize(Decimal(1))
        n.update(subtotal=f"{subtotal:f}", tax_amount=f"{tax:f}", total=f"{subtotal + tax:f}")
    lines = []
    for kind, k, name, unit, qty, price, amount in rows:
        cells = [f"<TChat>{kind}</TChat>", f"<STT>{k}</STT>", f"<THHDVu>{e(name)}</THHDVu>"]
        if unit is not None:
            cells += [f"<DVTinh>{unit}</DVTinh>", f"<SLuong>{qty:f}</SLuong>", f"<DGia>{price:f}</DGia>"]
        cells += [f"<ThTien>{amount:f}</ThTien>", f"<TSuat>{rate:f}%</TSuat>"]
        lines.append(f"<HHDVu>{''.join(cells)}</HHDVu>")
    hdon = f"""<HDon>
  <DLHDon Id="data">
    <TTChung>
      <PBan>2.0.1</PBan><THDon>Hóa đơn giá trị gia tăng</THDon><KHMSHDon>1</KHMSHDon><KHHDon>{series}</KHHDon>
      <SHDon>{int(n["invoice_number"])}</SHDon><NLap>{n["date"]}</NLap><DVTTe>VND</DVTTe><TGia>1</TGia>
      <HTTToan>TM/CK</HTTToan><MSTTCGP>0100000000</MSTTCGP>
    </TTChung>
    <NDHDon>
      <NBan><Ten>{e(n["seller"])}</Ten><MST>{e(n["seller_tax_code"])}</MST><DChi>Số 1 Đường Thử, Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh</DChi></NBan>
      <NMua><Ten>{e(n["buyer"])}</Ten><MST>0312345678</MST><DChi>Số 2 Phố Thử, Phường Tràng Tiền, Quận Hoàn Kiếm, Hà Nội</DChi></NMua>
      <DSHHDVu>{"".join(lines)}</DSHHDVu>
      <TToan>
        <THTTLTSuat><LTSuat><TSuat>{rate:f}%</TSuat><ThTien>{n["subtotal"]}</ThTien><TThue>{n["tax_amount"]}</TThue></LTSuat></THTTLTSuat>
        <TgTCThue>{n["subtotal"]}</TgTCThue><TgTThue>{n["tax_amount"]}</TgTThue>
        <TTCKTMai>{off:f}</TTCKTMai><TgTTTBSo>{n["total"]}</TgTTTBSo><TgTTTBChu>(bằng chữ)</TgTTTBChu>
      </TToan>
    </NDHDon>
  </DLHDon>
  <MCCQT>00A1B2C3D4E5F60718293A4B5C6D7E8F90</MCCQT>
</HDon>"""
    if wrap:
        hdon = (f"<TDiep><TTChung><PBan>2.0.1</PBan><MNGui>K0100000000</MNGui><MLTDiep>200</MLTDiep></TTChung>"
                f"<DLieu>{hdon}</DLieu></TDiep>")
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n{hdon}\n'.encode("utf-8")
    return VnInvoice(xml, doc, series, "1", off)
