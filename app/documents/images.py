"""Image decoding for uploads.

Pillow sniffs the format from the bytes (never from the file name), applies
the EXIF orientation that phone photos carry, and guards against
decompression bombs with a pixel limit.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps

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
                rgb = to_rgb(img)
    except (InvalidImage, PayloadTooLarge):
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError, MemoryError) as e:
        raise PayloadTooLarge("Image has too many pixels (MAX_IMAGE_PIXELS)") from e
    except Exception as e:  # any decoder failure on the caller's bytes is the file's, not ours
        raise InvalidImage("The file is not a decodable image (JPEG, PNG, WEBP, BMP, TIFF, GIF)") from e
    array = np.asarray(rgb, dtype=np.uint8)
    return np.ascontiguousarray(array[:, :, ::-1])


def to_rgb(img: Image.Image) -> Image.Image:
    """An RGB copy of ``img`` that keeps its text legible, whatever its mode.

    Pillow's ``convert("RGB")`` clips 16- and 32-bit greys and floats to 0..255
    (a 16-bit scan comes out all white) and drops transparency (a transparent
    background comes out black, under black text). Here:

    * ``I;16*`` (16-bit grey) is scaled by 255/65535; ``I`` (32-bit) and ``F``
      (float) are scaled from their own range (``F`` in 0..1 by 255) when they
      exceed 0..255;
    * an alpha channel or a palette/``transparency`` entry is composited onto
      white (paper);
    * everything else (``1``, ``L``, ``P``, ``CMYK``, ``YCbCr``, ``LAB``, ...)
      goes through ``convert("RGB")``.

    Args:
        img: a loaded Pillow image, any mode.

    Returns:
        A mode ``RGB`` image of the same size.
    """
    mode = img.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        arr = np.nan_to_num(np.asarray(img, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        if mode.startswith("I;16"):
            arr = arr * (255.0 / 65535.0)
        elif mode == "F" and arr.size and 0.0 <= float(arr.min()) and float(arr.max()) <= 1.0:
            arr = arr * 255.0
        elif arr.size and (float(arr.max()) > 255.0 or float(arr.min()) < 0.0):
            low, high = float(arr.min()), float(arr.max())
            arr = (arr - low) * (255.0 / max(high - low, 1e-12))
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L").convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, rgba).convert("RGB")
    return img.convert("RGB")
