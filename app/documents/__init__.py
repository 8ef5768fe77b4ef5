"""Uploaded bytes -> decoded page images, with size and format checks."""

from app.documents.images import decode_image, SUPPORTED_FORMATS

__all__ = ["decode_image", "SUPPORTED_FORMATS"]
