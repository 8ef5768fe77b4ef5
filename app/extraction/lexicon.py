"""Shared patterns and word lists of the receipt and invoice readers.

One home for the vocabulary the rule reader (:mod:`app.extraction.rules`) and the
learned line-role model (:mod:`app.extraction.line_roles`) both read, so neither
imports the other's internals. Patterns run over *folded* text
(:func:`app.extraction.normalize.fold`: lower case, diacritics removed) unless
their comment says upper case.
"""

from __future__ import annotations

import re


#: Something date-like in a line.
DATE_HINT = re.compile(r"\d{1,4}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{2,4}|\d{1,2}\s+[A-Za-z]{3,9}\.?\s+\d{2,4}"
                       r"|[A-Za-z]{3,9}\.?\s+\d{1,2},?\s+\d{4}|\b\d{8}\b")

#: Words of contact and document metadata lines (folded): not a name or address.
PHONE_OR_META = re.compile(
    r"\b(tel|fax|phone|hot ?[l1i]ine|\w*careline|prepay|dt|dien thoai|email|e-mail|www|http|gst|reg|co\.? ?no|company no|sst|tax|mst|"
    r"ma so thue|invoice|receipt|cashier|date|ngay|thoi gian|so hd|hoa don|phieu|ban hang|thu ngan|nhan vien|n\.? ?vien|"
    r"ma hd|quay|pos|table|ban so)\b")

#: Whole-line titles and greetings at the top of a receipt (folded).
HEADER_NOISE = re.compile(
    r"^(tax ?invoice|invoice|receipt|official receipt|cash sales?|cash bill|simplified tax invoice|welcome|"
    r"hoa don ban hang|hoa don ban le|hoa don thanh toan|phieu thanh toan|phieu tinh tien|hoa don|"
    r"hoa don gtgt|xin cam on|chao mung.*|cam on quy khach.*|thank you.*|facture|factuur|rechnung|faktura( vat)?)$")

#: Retail chains whose name is printed as a logo word above or beside the address (folded).
BRANDS = (r"v[a-z1|]?n ?commerce|v[a-z1|]?nmart|co\.?op ?(mart|food|xtra)?|bach hoa xanh|circle k|familymart|"
           r"ministop|gs25|highlands coffee|lotte mart|big c|aeon")

#: Words that mark a company or shop name (folded).
COMPANY_SUFFIX = re.compile(r"\b(?:" + BRANDS + "|"
                            r"sdn\.? ?bhd|bhd|berhad|s/b|sdn|enterprise|trading|restaurant|restoran|store|mart|"
                            r"company|ltd|limited|plt|resources|marketing|hardware|bakery|cafe|"
                            r"cong ty|cua hang|sieu thi|nha sach|minimart|tnhh|co\.? ?phan)\b|\bco\.")

#: Item-table header words (folded): a receipt's header block ends above them.
TABLE_START = re.compile(r"\b(ten hang|don gia|thanh tien|so luong|mat hang|description|qty)\b")

#: A postcode followed by the town at the end of a line ("81750 JOHOR BAHRU"): an address's last line.
POSTCODE = re.compile(r"(?<![\w-])\d{5}\s*,?\s+[a-z][a-z .]*[,.]?\s*$")

#: A trailing state or country of an address line.
REGION = re.compile(r"([a-z .,]*\b(selangor|johor|kedah|kelantan|melaka|malacca|negeri sembilan|pahang|perak|perlis|"
                    r"pulau pinang|penang|sabah|sarawak|terengganu|kuala lumpur|putrajaya|labuan|malaysia|"
                    r"darul [a-z]+|wilayah persekutuan|viet ?nam)\b[a-z .,]*)")

#: A company-registration caption line.
REGISTRATION_LINE = re.compile(r"\b(co\.? ?(reg|no)|company no|roc|reg\.? no|br no|gst ?id|gst reg|sst|licensee|"
                               r"business reg)\b")

#: Words of Malaysian addresses (Malay street and area words, states, large towns), upper case.
MY_ADDRESS_WORDS = frozenset("""
JALAN TAMAN LORONG KAMPUNG BANDAR PERSIARAN KAWASAN PERINDUSTRIAN PERUSAHAAN SEKSYEN MEDAN PUSAT BANGUNAN
WISMA MENARA PLAZA KOMPLEKS DESA INDAH UTAMA BARU BESAR PERMAI SENTOSA SETIA ALAM JAYA RAYA SELATAN UTARA
TIMUR BARAT TENGAH SELANGOR JOHOR KEDAH KELANTAN MELAKA PAHANG PERAK PERLIS PENANG PINANG SABAH SARAWAK
TERENGGANU LUMPUR KUALA DARUL EHSAN TAKZIM AMAN PUTRAJAYA LABUAN PETALING DAMANSARA SUBANG PUCHONG KAJANG
CHERAS KLANG SHAH BAHRU AMPANG KEPONG SETAPAK SEMENYIH SERDANG KOTA BATU GOMBAK RAWANG SEREMBAN IPOH
""".split())
