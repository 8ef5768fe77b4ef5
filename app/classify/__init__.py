"""Document classification, page language and ``info`` -> field mapping.

* :func:`classify` (:mod:`app.classify.doctype`): OCR result (and image) ->
  :class:`Classification` ``{type, confidence, source}``.
* :func:`map_info` (:mod:`app.classify.mapping`): caller's ``info`` ->
  known field of a document type per key (:class:`FieldMatch`).
* :func:`looks_vietnamese` / :func:`page_language` (:mod:`app.classify.language`):
  the one page-language test OCR and extraction use.
"""

from app.classify.doctype import TYPES, Classification, classify, given
from app.classify.language import looks_vietnamese, page_language
from app.classify.mapping import FieldMatch, map_info

__all__ = ["TYPES", "Classification", "FieldMatch", "classify", "given", "looks_vietnamese", "map_info",
           "page_language"]
