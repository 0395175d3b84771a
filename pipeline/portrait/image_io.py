"""Load an uploaded portrait into the working copy every later stage uses.

Uploads come as files, PIL images or arrays, in every mode a camera or an editor can produce,
sideways (EXIF orientation), huge (phone photos of 50 megapixels) or damaged. This module turns
all of that into one RGB uint8 array of bounded size, or a PortraitError that says what was
wrong and what to do about it.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .types import PortraitError

WORKING_SIZE = 1024
"""Default long side of the working copy: detection and rendering do not gain from more."""
MIN_SIDE = 128
"""Images whose short side is below this many pixels are refused: too little to animate."""
_TRANSPARENT_FILL = (255, 255, 255)
_EXIF_ORIENTATION = 0x0112

ImageSource = Union[str, Path, bytes, Image.Image, np.ndarray]


def load_portrait_image(source: ImageSource, max_side: int = WORKING_SIZE) -> tuple[np.ndarray, tuple[int, int], float]:
    """The working copy of a portrait: (rgb (H, W, 3) uint8, original (width, height), scale).

    ``source`` is a path, encoded bytes, a PIL image or an array (H, W), (H, W, 1|3|4) in RGB(A)
    order. The EXIF orientation is applied, so ``original_size`` is the upright size. Images with
    a long side above ``max_side`` are downscaled; ``scale`` = working px / original px (1.0 when
    no downscale happened).
    """
    if max_side < MIN_SIDE:
        raise ValueError(f"max_side must be at least {MIN_SIDE}, got {max_side}")
    if isinstance(source, np.ndarray):
        rgb = _array_to_rgb(source)
        if np.shares_memory(rgb, source):
            rgb = rgb.copy()  # a working copy: later stages must not write into the caller's array
    elif isinstance(source, Image.Image):
        rgb = _pil_to_rgb(ImageOps.exif_transpose(source))
    elif isinstance(source, (str, Path, bytes, bytearray)):
        return _load_file(source, max_side)
    else:
        raise PortraitError(f"cannot read a portrait from a {type(source).__name__}; "
                            "pass a file path, a PIL image or an RGB numpy array")
    height, width = rgb.shape[:2]
    _check_min_size(width, height)
    return _downscale(rgb, max_side)


def _load_file(source: str | Path | bytes | bytearray, max_side: int) -> tuple[np.ndarray, tuple[int, int], float]:
    if isinstance(source, (bytes, bytearray)):
        name, stream = "the uploaded data", io.BytesIO(bytes(source))
    else:
        path = Path(source).expanduser()
        name = str(path)
        if not path.exists():
            raise PortraitError(f"{name} does not exist; check the path or upload the photo again")
        if path.is_dir():
            raise PortraitError(f"{name} is a folder; choose one image file (JPEG, PNG or WebP)")
        stream = path
    try:
        with Image.open(stream) as img:
            orientation = int(img.getexif().get(_EXIF_ORIENTATION, 1) or 1)
            width, height = img.size
            if orientation in (5, 6, 7, 8):
                width, height = height, width
            _check_min_size(width, height, name)
            long_side = max(width, height)
            if long_side > max_side and img.format == "JPEG":
                # decode at a reduced scale: a 50 MP JPEG loads in a fraction of the time
                factor = long_side / max_side
                img.draft("RGB", (math.ceil(img.size[0] / factor), math.ceil(img.size[1] / factor)))
            img.load()
            upright = ImageOps.exif_transpose(img)
            rgb = _pil_to_rgb(upright)
    except PortraitError:
        raise
    except Image.DecompressionBombError as exc:
        raise PortraitError(f"{name} has too many pixels to open safely ({exc}); "
                            "resize it below 100 megapixels and try again") from exc
    except UnidentifiedImageError as exc:
        raise PortraitError(f"{name} is not an image file this studio can read; "
                            "upload a photo as JPEG, PNG or WebP") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise PortraitError(f"{name} could not be decoded, it looks damaged or incomplete ({exc}); "
                            "export or download the photo again and re-upload it") from exc
    return _downscale(rgb, max_side, original=(width, height))


def _check_min_size(width: int, height: int, name: str = "the image") -> None:
    if min(width, height) < MIN_SIDE:
        raise PortraitError(f"{name} is only {width}x{height} pixels; portraits need at least "
                            f"{MIN_SIDE} pixels on the short side. Use a larger photo.")


def _pil_to_rgb(img: Image.Image) -> np.ndarray:
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        return _array_to_rgb(np.asarray(img))
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, _TRANSPARENT_FILL + (255,))
        img = Image.alpha_composite(background, img)
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    """RGB uint8 from grey, grey+alpha, RGB or RGBA arrays of integer or float type."""
    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (2, 3, 4)):
        raise PortraitError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4); got shape {arr.shape}")
    if arr.size == 0:
        raise PortraitError("the image array is empty")
    arr = _to_uint8(arr)
    if arr.ndim == 2:
        return np.ascontiguousarray(np.repeat(arr[:, :, None], 3, axis=2))
    if arr.shape[2] in (2, 4):
        colour = arr[:, :, :-1].astype(np.float32)
        if colour.shape[2] == 1:
            colour = np.repeat(colour, 3, axis=2)
        alpha = arr[:, :, -1:].astype(np.float32) / 255.0
        fill = np.asarray(_TRANSPARENT_FILL, np.float32)
        arr = np.round(colour * alpha + fill * (1.0 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(arr)


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise PortraitError("the image array contains NaN or infinite values")
        peak = 1.0 if float(arr.max()) <= 1.0 else 255.0
        return np.clip(np.round(arr * (255.0 / peak)), 0, 255).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.integer):
        peak = 255 if int(arr.max()) <= 255 else (65535 if int(arr.max()) <= 65535 else int(arr.max()))
        return np.clip(np.round(arr.astype(np.float64) * (255.0 / peak)), 0, 255).astype(np.uint8)
    raise PortraitError(f"unsupported image array type {arr.dtype}; use uint8 RGB")


def _downscale(rgb: np.ndarray, max_side: int, original: tuple[int, int] | None = None
               ) -> tuple[np.ndarray, tuple[int, int], float]:
    height, width = rgb.shape[:2]
    orig_w, orig_h = original if original is not None else (width, height)
    long_orig = max(orig_w, orig_h)
    if long_orig <= max_side and (width, height) == (orig_w, orig_h):
        return rgb, (int(orig_w), int(orig_h)), 1.0
    scale = min(1.0, max_side / long_orig)
    target = (max(1, round(orig_w * scale)), max(1, round(orig_h * scale)))
    if (width, height) != target:
        rgb = np.asarray(Image.fromarray(rgb).resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0))
    return np.ascontiguousarray(rgb), (int(orig_w), int(orig_h)), float(scale)
