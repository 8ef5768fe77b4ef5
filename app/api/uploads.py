"""The uploaded files of a multipart request, read the same way by every HTTP door
(``/ocr``, ``/extract``, ``POST /jobs`` and the review UI's "Try it")."""

from __future__ import annotations

from flask import request

from app.api.schemas import clip
from app.errors import MissingFile, PayloadTooLarge
from app.pipeline import Upload


def read_uploads(max_files: int) -> list[Upload]:
    """The request's ``image_file`` parts as :class:`~app.pipeline.Upload` values, in order.

    Args:
        max_files: the most files one request may carry (``MAX_FILES_PER_REQUEST``).

    Raises:
        MissingFile: no file part (with why: a text field named ``image_file``, or a
            body that is not ``multipart/form-data``).
        PayloadTooLarge: more than ``max_files`` parts.
    """
    files = request.files.getlist("image_file")
    if not files:
        if "image_file" in request.form:
            raise MissingFile("Form field 'image_file' came without a filename, so it arrived as text, not as a "
                              "file: send it as a file part (curl -F image_file=@photo.jpg)")
        if request.mimetype != "multipart/form-data":
            raise MissingFile(f"Send multipart/form-data with one or more 'image_file' file parts "
                              f"(got Content-Type {clip(request.mimetype or 'none', 80)})")
        raise MissingFile()
    if len(files) > max_files:
        raise PayloadTooLarge(f"{len(files)} files sent; the limit is {max_files} per request "
                              "(MAX_FILES_PER_REQUEST)")
    # The file name is only echoed back (clipped), never used as a path.
    return [Upload(filename=(f.filename or f"file{i}")[:255], data=f.read()) for i, f in enumerate(files)]
