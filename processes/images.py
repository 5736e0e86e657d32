"""Photos as we accept and keep them: Pillow reads the header, the claimed size is checked against
MAX_PIXELS before a pixel is decoded (a few hundred bytes can claim 100,000 x 100,000 pixels),
then the picture is decoded and re-encoded. The re-encoded file holds only pixels: no metadata
(EXIF with GPS, comments, ICC blobs) and nothing after the image's end (a ZIP or an HTML page
appended to make a polyglot), so it can be shown inline."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 40_000_000  # a 40-megapixel photo: more than any phone or car camera takes
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# The only metadata a re-encode keeps: a palette image's transparent colour is part of the picture.
KEEP_INFO = ("transparency",)


class ImageRefused(ValueError):
    """Not an image we accept; the message says why."""


@contextmanager
def opened(source: bytes | Path) -> Iterator[Image.Image]:
    """The image with its header read and its size within MAX_PIXELS; nothing decoded yet."""
    try:
        image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
    except Image.DecompressionBombError as err:  # Pillow's own ceiling, far above ours
        raise ImageRefused(f"the image claims more than {MAX_PIXELS:,} pixels") from err
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise ImageRefused("not a readable image") from err
    with image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ImageRefused(f"the image claims {width} x {height} pixels; at most {MAX_PIXELS:,} are accepted")
        yield image


def check(source: bytes | Path) -> str:
    """The format of an image whose header reads, whose claimed size is within MAX_PIXELS and
    whose data Pillow's verify() passes (cheap: no full decode). ImageRefused otherwise."""
    with opened(source) as image:
        kind = str(image.format)
        try:
            image.verify()
        except (OSError, ValueError, SyntaxError) as err:
            raise ImageRefused("the image is damaged") from err
    return kind


def reencode(data: bytes) -> tuple[bytes, str]:
    """(the picture re-encoded in its own format, its content type)."""
    with opened(data) as image:
        kind = str(image.format)
        if kind not in CONTENT_TYPES:
            raise ImageRefused(f"{kind} images are not accepted")
        _decode(image)
        upright = _upright(image)
        upright.info = {k: v for k, v in image.info.items() if k in KEEP_INFO}
        out = io.BytesIO()
        if kind == "JPEG":
            # the source's own quantisation when the pixels are unchanged: no second loss of quality
            upright.save(out, "JPEG", quality="keep" if upright is image else 90)
        elif kind == "PNG":
            upright.save(out, "PNG")
        else:
            upright.save(out, "WEBP", quality=90)
    return out.getvalue(), CONTENT_TYPES[kind]


def _decode(image: Image.Image) -> None:
    try:
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise ImageRefused(f"the image cannot be decoded ({err})") from err


def _upright(image: Image.Image) -> Image.Image:
    """Turned as the camera's EXIF orientation says, since that tag does not survive the re-encode."""
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except (OSError, ValueError, SyntaxError):  # unreadable EXIF: the pixels as they are
        return image
    return image if orientation in (1, None) else ImageOps.exif_transpose(image)
