"""``info`` entries mapped onto the known fields of a document type.

A client of the original service sends ``info`` (field key -> description,
e.g. ``{"so_cccd": "Số căn cước", "ten": "Họ và tên"}``) and no
``document_type``. Each entry is matched to a field of the (detected) type so
the deterministic readers answer it, and the response keeps the caller's key.

Matching (no list of example requests; unseen phrasings match):

* the key name (``date_of_birth``, ``dateOfBirth``, ``ngay_sinh``) and the
  description are split into words, folded (lower case, Vietnamese diacritics
  removed, ``đ`` -> ``d``) and stripped of function words ("of", "the",
  "của", "là", ...);
* each known field has a synonym set: short phrases in Vietnamese (written
  without diacritics, so "Số căn cước" and "so can cuoc" are the same) and
  English (:data:`SYNONYMS`);
* a phrase matches a word list by word-level fuzzy matching (rapidfuzz
  ``fuzz.ratio`` >= 80 for words of 4+ letters, so "adress" or "totl amout"
  still match; exact for shorter words), words sharing a root ("buyer" /
  "buying", "supplier" / "supply", :func:`roots`) and the sales-tax words
  (VAT, GST, tax, thuế, ...) as one; the score is the F1 of the phrase's
  words found in the request and of the request's words covered by the
  phrase, so the most specific phrase wins ("ngày sinh" is
  ``date_of_birth``, not ``date``);
* in a question-shaped description the noun an interrogative qualifies
  ("nước" of "nước nào", "country" of "which country") weighs
  :data:`FOCUS_WEIGHT` times in that recall (:func:`question_focus`);
* a field's score is its best phrase's, over the description and the key
  name (the key weighted 0.95);
* the request is matched as a whole (:func:`_map_info`): one field to one
  entry, best scores first (>= :data:`MIN_SCORE`), a description's implied kind
  (date, amount) fitting the field's; the entries left take, by elimination,
  the fields no entry took; an entry that still matches no field goes to the
  generic caption reader and the LLM.

A field's synonyms are general wording for that field, never the wording of a
benchmark preset (``bench/evaluate.py --info-preset plain`` is a hold-out).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from app.extraction.normalize import fold

#: Lowest score (0..1) at which an entry is mapped onto a field.
MIN_SCORE = 0.7
#: Score reported for an entry mapped by its value kind alone (the type's only date / amount field).
KIND_SCORE = 0.5

#: Words that say nothing about which field is meant (folded).
STOPWORDS = frozenset({
    # English
    "a", "an", "the", "of", "on", "in", "for", "to", "at", "by", "from", "with", "as", "is", "are", "this", "that",
    "which", "what", "its", "it", "their", "his", "her", "printed", "shown", "written", "stated", "given", "value",
    "field", "document", "please", "extract", "get", "find", "read", "return", "and", "or", "e.g", "eg", "was",
    "were", "be", "been", "has", "have", "had", "do", "does", "did", "such", "how", "there", "these", "those", "into",
    "than", "then", "also", "any", "all", "if", "will", "would", "should", "must",
    # Vietnamese (folded)
    "cua", "la", "tren", "trong", "cho", "duoc", "ghi", "theo", "va", "hoac", "cac", "nhung", "mot", "nay", "do",
    "tai", "o", "ve", "voi", "thi", "hay", "gi", "nao", "lay", "tim",
})

#: Known field key -> phrases naming it (folded: no diacritics; Vietnamese and English).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "id_number": ("so can cuoc", "so can cuoc cong dan", "can cuoc cong dan", "so cccd", "cccd", "so cmnd", "cmnd",
                  "so dinh danh", "ma dinh danh", "so the", "id number", "id no", "id", "citizen id",
                  "identity number", "identification number", "identity card number", "card number",
                  "national id", "personal number", "document number"),
    "full_name": ("ho va ten", "ho ten", "ten", "ten day du", "ten khai sinh", "ho chu dem ten", "full name", "name",
                  "holder name", "surname given names", "ten nguoi", "ten chu the"),
    "date_of_birth": ("ngay sinh", "ngay thang nam sinh", "sinh ngay", "nam sinh", "sinh", "ra doi", "date of birth",
                      "birth date", "birth",
                      "birthday", "dob", "born"),
    "sex": ("gioi tinh", "phai", "sex", "gender", "nam nu", "male female", "man woman", "men women", "dan ong",
            "dan ba", "phu nu", "trai gai"),
    "nationality": ("quoc tich", "nationality", "citizenship", "citizen of", "country", "nuoc", "quoc gia",
                    "nation"),
    "place_of_origin": ("que quan", "nguyen quan", "que", "noi sinh", "place of origin", "hometown", "home town",
                        "native place", "origin", "birthplace", "place of birth"),
    "place_of_residence": ("noi thuong tru", "thuong tru", "noi cu tru", "dia chi thuong tru", "dia chi", "cho o",
                           "noi o", "place of residence", "residence", "permanent address", "address", "home address",
                           "domicile"),
    "date_of_expiry": ("co gia tri den", "gia tri den", "ngay het han", "han su dung", "het han", "date of expiry",
                       "expiry date", "expiration date", "expiry", "expires", "valid until", "valid to",
                       "valid through"),
    "date_of_issue": ("ngay cap", "ngay thang nam cap", "cap ngay", "date of issue", "issue date", "issued on",
                      "issuance date", "date issued"),
    "personal_identification": ("dac diem nhan dang", "nhan dang", "dau vet", "not ruoi", "seo", "personal identification",
                                "identifying marks", "identification marks", "distinguishing marks",
                                "distinguishing features", "marks"),
    "seller": ("ten cua hang", "cua hang", "ten cong ty", "cong ty", "don vi ban", "don vi ban hang", "nguoi ban",
               "ben ban", "ten nguoi ban", "nha hang", "sieu thi", "ten doanh nghiep", "shop name", "shop",
               "store name", "store", "company name", "company", "seller", "merchant", "vendor", "issuer", "business",
               "business name", "retailer", "restaurant", "outlet", "supplier", "provider", "service provider"),
    "address": ("dia chi", "dia chi cua hang", "dia chi nguoi ban", "dc", "address", "shop address",
                "store address", "company address", "seller address", "location", "street address"),
    "date": ("ngay", "ngay ban", "ngay in", "ngay mua", "ngay lap", "ngay hoa don", "thoi gian", "ngay gio",
             "date", "receipt date", "invoice date", "purchase date", "transaction date", "date time", "datetime",
             "time", "timestamp", "issue date", "date of issue", "order date", "ngay dat hang", "ngay don hang"),
    "total": ("tong tien", "tong cong", "tong so tien", "tong thanh toan", "tong tien thanh toan", "thanh toan",
              "so tien thanh toan", "phai tra", "tong gia tri", "total", "total amount", "grand total", "amount",
              "amount paid", "amount due", "total due", "total payable", "total cost", "total price", "sum",
              "net total", "total value", "order total", "invoice total", "balance due", "tong", "gross", "gross amount",
              "gross total", "amount owed"),
    "seller_tax_code": ("ma so thue", "mst", "ma so thue nguoi ban", "tax code", "tax id", "tax number", "vat number",
                        "vat no", "vat id", "seller tax code", "tin", "gst id", "gst no", "tax identification"),
    "buyer": ("nguoi mua", "nguoi mua hang", "don vi mua", "don vi mua hang", "ben mua", "ten nguoi mua",
              "khach hang", "buyer", "purchaser", "bill to", "billed to", "customer", "client", "sold to",
              "ben dat hang", "nguoi dat hang", "don vi dat hang", "ordering party"),
    "invoice_number": ("so hoa don", "hoa don so", "ma hoa don", "so", "invoice number", "invoice no", "invoice id",
                       "invoice", "invoice #", "bill number", "bill no", "receipt number", "receipt no",
                       "document number", "reference", "number", "ref"),
    "subtotal": ("cong tien hang", "tien hang", "thanh tien truoc thue", "tien truoc thue", "chua thue",
                 "subtotal", "sub total", "net amount", "amount before tax", "pre tax", "before tax", "excluding tax",
                 "total excl", "net"),
    "tax_amount": ("tien thue", "thue", "thue gtgt", "tien thue gtgt", "vat", "tax", "tax amount", "vat amount",
                   "gst", "gst amount", "sales tax"),
    "order_number": ("so don hang", "so don dat hang", "ma don hang", "ma don", "so po", "so", "order number", "order no",
                     "order id", "po number", "po no", "po", "purchase order number", "sales order number",
                     "so number", "reference", "number", "ref"),
    "supplier": ("nha cung cap", "ben ban", "nguoi ban", "don vi cung cap", "supplier", "vendor", "seller",
                 "provider"),
    "delivery_date": ("ngay giao hang", "ngay giao", "ngay nhan hang", "han giao hang", "delivery date",
                      "ship date", "shipping date", "delivery", "deliver by", "date of delivery", "due date"),
    "customer": ("khach hang", "ten khach hang", "nguoi mua", "ben mua", "customer", "customer name", "client",
                 "buyer", "sold to", "bill to", "ship to"),
}

#: Things a caller may ask for that are no known field (phone, currency, cashier, ...): their
#: words count as informative, so "currency of the amounts" is not taken for ``total``.
OTHER_ATTRIBUTES: tuple[str, ...] = (
    "so dien thoai", "dien thoai", "phone", "telephone", "mobile", "fax", "email", "website", "currency", "tien te",
    "loai tien", "cashier", "thu ngan", "nhan vien", "staff", "table", "ban", "quantity", "so luong", "item",
    "items", "mat hang", "san pham", "product", "description", "mo ta", "unit price", "don gia", "payment method",
    "hinh thuc thanh toan", "card", "the", "change", "tien thua", "tien khach dua", "khach dua", "tien khach tra",
    "cash tendered", "tendered", "tien mat", "cash", "discount", "giam gia", "chiet khau", "points",
    "diem", "barcode", "ma vach", "religion", "ton giao", "ethnicity", "dan toc", "photo", "anh", "signature",
    "chu ky", "bank", "ngan hang", "account", "tai khoan", "ghi chu", "note", "notes", "remark", "remarks",
    "comment", "comments",
)

# Word-level aliases folded onto one spelling before matching (abbreviations).
_ALIASES = {"no.": "no", "nr": "no", "num": "number", "#": "no", "amt": "amount", "qty": "quantity", "inv": "invoice",
            "addr": "address", "tel": "phone", "dt": "date", "yyyy": "", "dd": "", "mm": "", "tp": ""}


@dataclass(frozen=True)
class FieldMatch:
    """Where one ``info`` entry was mapped.

    Attributes:
        key: the caller's key.
        field: the known field key it was mapped to; None when no field matched.
        score: 0..1 (the F1 of the best phrase; 1.0 when the key is the field's own key).
        kind: what the description implies the value is, for the generic
            caption reader: ``date``, ``amount``, ``number`` or ``text``.
    """

    key: str
    field: str | None
    score: float
    kind: str = "text"


def words(text: str, aliases: bool = True) -> list[str]:
    """Content words of a key name or description, folded: ``"dateOfBirth"`` ->
    ``["date", "birth"]``; ``"Số căn cước (ID)"`` -> ``["so", "can", "cuoc", "id"]``;
    abbreviations spelt out (``"amt"`` -> ``"amount"``) unless ``aliases`` is false
    (the printed form, for caption reading)."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)  # camelCase
    folded = fold(text).replace("_", " ").replace("-", " ")
    out = []
    for w in re.findall(r"[a-z0-9#]+\.?", folded):
        w = _ALIASES.get(w, w.rstrip(".")) if aliases else w.rstrip(".")
        if w and w not in STOPWORDS:
            out.append(w)
    return out


_SUFFIXES = ("ations", "ation", "ions", "ion", "ings", "ing", "ers", "ed", "es", "er", "s", "e", "y")


def stem(word: str) -> str:
    """A crude English stem for words of 5+ letters (``located``/``location`` ->
    ``locat``, ``issued``/``issue`` -> ``issu``); shorter words (every
    Vietnamese syllable but a few) are kept."""
    if len(word) < 5:
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


#: Derivational and inflectional endings of English words, longest first, each with what may
#: stand in its place in the root ("supplier" -> "suppl" + "y"; "buying" -> "buy"; "dated" -> "date").
_DERIVATIONS = (("ations", ("", "e")), ("ation", ("", "e")), ("ments", ("",)), ("ment", ("",)),
                ("ables", ("", "e")), ("able", ("", "e")), ("ings", ("", "e")), ("ing", ("", "e")),
                ("iers", ("y",)), ("ier", ("y",)), ("ied", ("y",)), ("ies", ("y",)), ("ers", ("", "e")),
                ("er", ("", "e")), ("ed", ("", "e")), ("es", ("", "e")), ("s", ("",)))
#: Irregular forms of the verbs a field description uses ("amount paid", "sold to").
#: ("sold to" names the buyer, so "sold" is not taken for "seller").
_IRREGULAR = {"paid": "pay", "sent": "send", "made": "make", "issued": "issue"}


@functools.lru_cache(maxsize=16384)
def roots(word: str) -> frozenset[str]:
    """The roots an English word may derive from, itself included: ``"buyer"`` ->
    ``{"buyer", "buy", "buye"}``, ``"supplier"`` -> ``{..., "supply"}``; a root keeps
    3+ letters. Two words share a root when one names the doer, the act or the
    state of the other ("buyer" / "buying", "supplier" / "supply", "dated" / "date")."""
    out = {word, _IRREGULAR.get(word, word)}
    for suffix, replacements in _DERIVATIONS:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            out.update(base + r for r in replacements)
            break
    return frozenset(out)


#: Words for a sales tax, one another's synonyms ("before VAT" is "before tax").
_TAX_WORDS = frozenset({"tax", "vat", "gst", "sst", "thue", "mwst", "ust", "tva", "iva", "btw"})


@functools.lru_cache(maxsize=16384)
def _same_word(a: str, b: str, typo: bool = True) -> bool:
    """Word equality up to a crude stem (:func:`stem`), a shared root (:func:`roots`, 3+
    letters, both words 4+) or, with ``typo``, a typo (rapidfuzz ratio >= 80, 4+ letters)."""
    if a == b:
        return True
    if min(len(a), len(b)) < 3:
        return False
    if roots(a) & roots(b) and max(len(a), len(b)) >= 4:
        return True
    if a in _TAX_WORDS and b in _TAX_WORDS:
        return True
    if min(len(a), len(b)) < 4:
        return False
    if stem(a) == stem(b):
        return True
    if not typo:
        return False
    from rapidfuzz import fuzz

    return fuzz.ratio(a, b) >= 80


@functools.lru_cache(maxsize=None)
def _phrases(field: str) -> tuple[tuple[str, ...], ...]:
    """The field's synonym phrases as word tuples, and its key's words."""
    out = [tuple(words(p)) for p in SYNONYMS.get(field, ())] + [tuple(words(field))]
    return tuple(dict.fromkeys(p for p in out if p))


@functools.lru_cache(maxsize=None)
def _field_vocabulary(field: str) -> frozenset[str]:
    return frozenset(w for p in _phrases(field) for w in p)


@functools.lru_cache(maxsize=1)
def _vocabularies() -> tuple[frozenset[str], ...]:
    """One word set per known field, and one for :data:`OTHER_ATTRIBUTES`."""
    other = frozenset(w for p in OTHER_ATTRIBUTES for w in words(p))
    return tuple(_field_vocabulary(f) for f in SYNONYMS) + (other,)


def _in(word: str, vocabulary: frozenset[str], typo: bool = True) -> bool:
    return word in vocabulary or any(_same_word(word, v, typo) for v in vocabulary if len(v) >= 3 and len(word) >= 3
                                     and (typo and len(v) >= 4 and len(word) >= 4 or roots(word) & roots(v)))


@functools.lru_cache(maxsize=8192)
def weight(word: str) -> float:
    """How much a query word says about which field is meant: the inverse
    document frequency of the word over the fields' vocabularies,
    ``log(1 + N / df)`` (df: vocabularies holding it, fuzzily); 0 for a word
    in none ("slip", "located"), low for one in many ("so", "date")."""
    import math

    vocabularies = _vocabularies()
    df = sum(1 for v in vocabularies if _in(word, v))
    return math.log(1 + len(vocabularies) / df) if df else 0.0


def phrase_score(phrase: tuple[str, ...], query: tuple[str, ...], typo: bool = True) -> float:
    """Share of a phrase's words found in the query (fuzzy word equality; ``typo``: up to a typo), 0..1."""
    if not phrase or not query:
        return 0.0
    return sum(1 for p in phrase if any(_same_word(p, q, typo) for q in query)) / len(phrase)


def _score(field: str, query: tuple[str, ...], focus: frozenset[str] = frozenset(), typo: bool = True) -> float:
    """F1 of the best phrase's precision (:func:`phrase_score`) and the
    IDF-weighted recall of the query's words by the field's vocabulary; the
    words a question asks about (``focus``, :func:`question_focus`) weigh
    :data:`FOCUS_WEIGHT` times their IDF."""
    if not query:
        return 0.0
    precision = max(phrase_score(p, query, typo) for p in _phrases(field))
    if precision == 0:
        return 0.0

    def w(q):
        return weight(q) * (FOCUS_WEIGHT if q in focus else 1.0)

    total = sum(w(q) for q in query)
    if total == 0:
        return 0.0
    vocabulary = _field_vocabulary(field)
    recall = sum(w(q) for q in query if _in(q, vocabulary, typo)) / total
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def segments(description: str, aliases: bool = True) -> list[tuple[str, ...]]:
    """The description's word lists: whole, and each part between brackets or
    after ``/``, ``|``, ``;`` (a bilingual description "Ngày sinh / Date of
    birth" or "tổng tiền (total amount)" says the same thing twice)."""
    parts = [description, *re.split(r"[()\[\]/|;]", description)]
    out = []
    for part in parts:
        ws = tuple(words(part, aliases))
        if ws and ws not in out:
            out.append(ws)
    return out


#: Question words of a description and the fields they point to ("When was it issued?").
_QUESTION_CUES = {
    "when": ("date", "date_of_birth", "date_of_expiry", "date_of_issue", "delivery_date"),
    "where": ("address", "place_of_origin", "place_of_residence"),
    "who": ("full_name", "seller", "buyer", "customer", "supplier"),
    "dau": ("address", "place_of_origin", "place_of_residence"),  # "ở đâu"
}
QUESTION_BONUS = 0.15
#: How much more the word a question asks about weighs in a field's recall (:func:`question_focus`).
FOCUS_WEIGHT = 3.0
# Interrogatives whose head noun is the word before them (Vietnamese "nước nào", "tên gì") or after
# them (English "which country", "what name"), folded.
_FOCUS_AFTER = ("nao", "gi")
_FOCUS_BEFORE = ("which", "what")


def question_focus(description: str) -> frozenset[str]:
    """The words a question-shaped description asks about: the noun an
    interrogative determiner qualifies, before Vietnamese ``nào``/``gì``
    ("Công dân nước nào" -> ``{"nuoc"}``, the country) and after English
    ``which``/``what`` ("Which country issued it" -> ``{"country"}``);
    empty for a description that asks no such question. Folded, as :func:`words` gives them."""
    raw = re.findall(r"[a-z0-9]+", fold(description))
    out = set()
    for i, w in enumerate(raw):
        if w in _FOCUS_AFTER and i > 0:
            out.add(raw[i - 1])
        elif w in _FOCUS_BEFORE and i + 1 < len(raw):
            out.add(raw[i + 1])
    return frozenset(w for w in out if w not in STOPWORDS)


def field_scores(key: str, description: str, fields: tuple[str, ...], typo: bool = True) -> dict[str, float]:
    """Score (0..1) of each of ``fields`` for one ``info`` entry (see module docstring);
    ``typo`` False: words must match up to their stem or root, not a typo."""
    descs, name = segments(description), tuple(words(key))
    raw = set(re.findall(r"[a-z]+", fold(f"{key} {description}")))
    cued = {f for cue, targets in _QUESTION_CUES.items() if cue in raw for f in targets}
    focus = question_focus(description)
    out = {}
    for field in fields:
        best = max([0.95 * _score(field, name, typo=typo)] + [_score(field, d, focus, typo) for d in descs])
        if best > 0 and field in cued:
            best = min(1.0, best + QUESTION_BONUS)
        out[field] = best
    return out


@functools.lru_cache(maxsize=1)
def _other_attribute_phrases() -> tuple[tuple[str, ...], ...]:
    """:data:`OTHER_ATTRIBUTES` as word tuples."""
    return tuple(p for p in (tuple(words(p)) for p in OTHER_ATTRIBUTES) if p)


def _names_other_attribute(description: str, whole: bool = True) -> bool:
    """A phrase of :data:`OTHER_ATTRIBUTES` makes up at least half of the description
    ("tiền khách đưa"); ``whole`` False: is anywhere in it, its words matched without typo
    tolerance ("telephone number of the shop")."""
    return any((not whole or 2 * len(p) >= len(d)) and phrase_score(p, d, typo=whole) == 1.0
               for p in _other_attribute_phrases() for d in segments(description))


def _asks_who(description: str) -> bool:
    """A "who" question ("Who issued this invoice?"): it asks for a party."""
    return bool({"who", "whom"} & set(words(description)))


#: Fields of different types that name the same party (an order's customer is an invoice's buyer).
_SAME_PARTY = {"customer": "buyer", "supplier": "seller"}


@functools.lru_cache(maxsize=1)
def _field_kinds() -> dict[str, str]:
    """Every known field key -> its kind (``date``, ``amount``, ``text``, ...), over all types."""
    from app.extraction.doctypes import DOCUMENT_TYPES

    return {s.key: s.kind for doc in DOCUMENT_TYPES.values() for s in doc.fields}


def _names_a_field_of(key: str, description: str, fields: tuple[str, ...], kind: str) -> bool:
    """Whether, of every known field (all types') of a kind that fits ``kind``, the ones the
    entry is most like include one of ``fields`` (a party under another type's name counts):
    "name of the shop" is most like a receipt's seller, so a card's full name is not given to
    it by elimination."""
    kinds = _field_kinds()
    candidates = tuple(f for f in SYNONYMS if _kind_fits(kind, kinds.get(f, "text")))
    scores = field_scores(key, description, candidates)
    top = max(scores.values(), default=0.0)
    if top <= 0:
        return False
    own = {_SAME_PARTY.get(f, f) for f in fields}
    return any(v >= top - 1e-9 and _SAME_PARTY.get(f, f) in own for f, v in scores.items())


def implied_kind(key: str, description: str) -> str:
    """What a field's description implies its value is: ``date``, ``amount``,
    ``number`` or ``text`` (for fields that match no known field)."""
    seq = words(key) + words(description)
    ws = set(seq)
    if "gia" in ws and all(i > 0 and seq[i - 1] == "quoc" for i, w in enumerate(seq) if w == "gia"):
        ws.discard("gia")  # "giá" is a price, but "quốc gia" is a country
    raw = f"{key} {description}".lower()
    ws |= {"value"} & set(re.findall(r"[a-z]+", fold(raw)))  # a stop word of descriptions, but a money word
    if _asks_who(f"{key} {description}"):  # "Who issued this invoice?": a party
        return "text"
    if ws & {"date", "ngay", "time", "thoi", "dob", "born", "expiry", "expires", "timestamp", "datum", "when",
             "dated"} or re.search(r"\bdays?\b", raw) or \
            re.search(r"\b(?:issued|dated|placed|signed|made|created|delivered|shipped|paid|ordered|sent) on\b", raw):
        # "day" as written ("đầy" folds to it too); "issued on", "placed on": a date
        return "date"
    money = ws & {"amount", "total", "price", "cost", "fee", "tien", "phi", "sum", "paid", "payable", "balance",
                  "discount", "money", "tong", "subtotal", "cash", "change", "pay", "value", "worth", "owed", "due",
                  "gross", "net", "much"}
    number = ws & {"number", "no", "code", "ma", "id", "phone", "dien", "thoai", "account", "reference", "ref",
                   "mst", "quantity", "count", "sl", "luong"}
    if money or (ws & {"tax", "thue", "vat", "gst", "gia"} and not number):
        return "amount"
    if number or "so" in ws:
        return "number"
    return "text"


def map_info(info: dict[str, str] | None, document_type: str | None) -> dict[str, FieldMatch]:
    """Map each ``info`` entry onto a field of ``document_type``.

    Args:
        info: caller's field key -> description (Vietnamese with or without
            diacritics, or English).
        document_type: a key of :data:`app.extraction.doctypes.DOCUMENT_TYPES`;
            None or unknown (``other``): nothing is mapped.

    Returns:
        caller key -> :class:`FieldMatch`, in ``info`` order. A key equal to a
        field key of the type maps to it with score 1.0; several entries may
        map onto the same field (each gets its value).
    """
    return dict(_map_info(tuple((info or {}).items()), document_type))


#: Lowest score at which an entry left unmapped takes a field no other entry took, of the kind
#: its description implies (:func:`_map_info`'s second pass).
RESIDUAL_SCORE = 0.3


def _kind_fits(implied: str, field_kind: str) -> bool:
    """Whether a description implying ``implied`` (:func:`implied_kind`) may name a field of
    ``field_kind``: a date only a date, an amount only an amount, a number neither; a text
    (the description says nothing of the value's kind) any."""
    if implied in ("date", "amount"):
        return field_kind == implied
    return implied == "text" or field_kind not in ("date", "amount")


@functools.lru_cache(maxsize=256)
def _map_info(items: tuple[tuple[str, str], ...], document_type: str | None) -> tuple[tuple[str, FieldMatch], ...]:
    """:func:`map_info` on hashable input, memoised (a batch sends the same ``info`` for every file).

    The request is matched as a whole, one field to one entry where the scores allow:

    1. a key equal to a field key takes it (score 1.0);
    2. the (entry, field) pairs scoring >= :data:`MIN_SCORE` whose kinds fit
       (:func:`_kind_fits`), best first, each field to one entry; an entry whose
       fields were all taken by better-scoring entries keeps its best (a caller may
       ask for one field twice);
    3. entries still unmapped, naming no other attribute (a phone, a cashier, ...) and
       most like a field of this type among all types' fields, by elimination: the
       fields no entry took, of the kind
       the description implies (no date or amount for one that implies none), best
       first when they score >= :data:`RESIDUAL_SCORE` on words matched without typo
       tolerance;
    4. the type's one field of the implied kind (date, amount), or the one of them no
       entry took, for an entry left with no evidence at all ("How much is it" on a
       receipt: its total).
    """
    from app.extraction.doctypes import DOCUMENT_TYPES

    info = dict(items)
    doc = DOCUMENT_TYPES.get(document_type or "")
    fields = tuple(doc.keys()) if doc else ()
    field_kind = {s.key: s.kind for s in doc.fields} if doc else {}
    kinds = {key: implied_kind(key, description) for key, description in info.items()}
    # "Who ordered from us": a party, whatever else the words share with a date's captions.
    parties = {key for key, description in info.items() if _asks_who(description)}
    out: dict[str, FieldMatch] = {}
    scores: dict[str, dict[str, float]] = {}
    for key, description in info.items():
        if key in fields:
            out[key] = FieldMatch(key, key, 1.0, kinds[key])
        elif fields:
            scores[key] = {f: v for f, v in field_scores(key, description, fields).items()
                           if _kind_fits("number" if key in parties else kinds[key], field_kind[f])}
    taken = {m.field for m in out.values()}
    pairs = sorted(((v, key, f) for key, row in scores.items() for f, v in row.items() if v >= MIN_SCORE),
                   key=lambda p: -p[0])
    for v, key, f in pairs:
        if key not in out and f not in taken:
            out[key] = FieldMatch(key, f, round(v, 3), kinds[key])
            taken.add(f)
    for key, row in scores.items():
        best = max(row, key=lambda f: row[f], default=None)
        if key not in out and best is not None and row[best] >= MIN_SCORE:
            out[key] = FieldMatch(key, best, round(row[best], 3), kinds[key])  # asked twice
    # By elimination, on words that match without a typo's tolerance: a short Vietnamese
    # syllable one letter from another is another word ("thích" is not "tịch").
    residual = sorted(((v, key, f) for key in scores
                       if key not in out and not _names_other_attribute(info[key], whole=False)
                       and _names_a_field_of(key, info[key], fields, kinds[key])
                       for f, v in field_scores(key, info[key], tuple(scores[key]), typo=False).items()
                       if f not in taken and v >= RESIDUAL_SCORE
                       and (kinds[key] != "text" or field_kind[f] not in ("date", "amount"))), key=lambda p: -p[0])
    for v, key, f in residual:
        if key not in out and f not in taken:
            out[key] = FieldMatch(key, f, round(v, 3), kinds[key])
            taken.add(f)
    for key, description in info.items():
        if key in out:
            continue
        row = scores.get(key, {})
        best = max(row, key=lambda f: row[f], default=None)
        # No field named: the type's one field of the kind the description implies
        # ("Final amount the customer has to pay" on a receipt: its one amount, the total).
        # Or the one such field no other entry took (the other two amounts were named).
        of_kind = [s.key for s in doc.fields if s.kind == kinds[key]] if doc and kinds[key] in ("date", "amount") \
            else []
        if len(of_kind) > 1:
            of_kind = [f for f in of_kind if f not in taken]
        if len(of_kind) == 1 and not _names_other_attribute(description):
            out[key] = FieldMatch(key, of_kind[0], KIND_SCORE, kinds[key])
            taken.add(of_kind[0])
        else:
            out[key] = FieldMatch(key, None, round(row[best], 3) if best else 0.0, kinds[key])
    return tuple((key, out[key]) for key in info)
