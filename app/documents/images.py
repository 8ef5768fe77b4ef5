"""Image decoding for uploads.

Pillow sniffs the format from the bytes (never from the file name), applies
the EXIF orientation that phone photos carry, and guards against
decompression bombs with a pixel limit.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from app.errors import InvalidImage, PayloadTooLarge

SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF")


def check_size(data: bytes, max_bytes: int) -> None:
    """Refuse an empty file or one over ``max_bytes``.

    Raises:
        InvalidImage: the file is empty.
        PayloadTooLarge: the file is over ``max_bytes`` (``MAX_FILE_MB``).
    """
    if len(data) == 0:
        raise InvalidImage("The file is empty")
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"File is {len(data) / 1048576:.1f} MB; the limit is {max_bytes / 1048576:.1f} MB (MAX_FILE_MB)"
        )


def decode_image(data: bytes, *, max_bytes: int, max_pixels: int) -> np.ndarray:
    """Decode an uploaded image to a BGR array.

    Args:
        data: the file's bytes.
        max_bytes: largest accepted file size in bytes.
        max_pixels: largest accepted width x height.

    Returns:
        ``(H, W, 3)`` uint8 array in BGR channel order (OpenCV convention),
        rotated upright according to its EXIF orientation. For multi-frame
        files (TIFF, GIF) the first frame.

    Raises:
        PayloadTooLarge: the file or its pixel count is over the limit.
        InvalidImage: empty, not an image, an unsupported format, or corrupt.
    """
    check_size(data, max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format
                if fmt not in SUPPORTED_FORMATS:
                    raise InvalidImage(
                        f"Unsupported image format {fmt}; send one of {', '.join(SUPPORTED_FORMATS)}"
                    )
                if img.width * img.height > max_pixels:
                    raise PayloadTooLarge(
                        f"Image is {img.width}x{img.height} pixels; the limit is {max_pixels} (MAX_IMAGE_PIXELS)"
                    )
                img.load()
                img = ImageOps.exif_transpose(img)
                rgb = img.convert("RGB")
    except (InvalidImage, PayloadTooLarge):
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        raise PayloadTooLarge("Image has too many pixels (MAX_IMAGE_PIXELS)") from e
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise InvalidImage("The file is not a decodable image (JPEG, PNG, WEBP, BMP, TIFF)") from e
    array = np.asarray(rgb, dtype=np.uint8)
    return np.ascontiguousarray(array[:, :, ::-1])
