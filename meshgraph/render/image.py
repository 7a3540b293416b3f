"""Save rendered images as PNG without extra dependencies (zlib + struct, 8-bit grey or RGB)."""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np
import torch


def to_uint8(image: torch.Tensor | np.ndarray, value_range: tuple[float, float] | None = (0.0, 1.0)) -> np.ndarray:
    """(H, W) or (H, W, 1 | 3) uint8 from a (C, H, W) / (H, W, C) / (H, W) image with C in {1, 3}.

    value_range maps to [0, 255] (clipped); None stretches the image's own min..max."""
    a = image.detach().float().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image, dtype=np.float32)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[2] not in (1, 3):
        a = a.transpose(1, 2, 0)  # (C, H, W) -> (H, W, C)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
        raise ValueError(f"image must be (H, W), (1|3, H, W) or (H, W, 1|3), got shape {tuple(image.shape)}")
    if value_range is None:
        finite = a[np.isfinite(a)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    else:
        lo, hi = value_range
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    return np.clip(np.nan_to_num((a - lo) * scale), 0, 255).round().astype(np.uint8)


def save_png(image: torch.Tensor | np.ndarray, path: str | os.PathLike,
             value_range: tuple[float, float] | None = (0.0, 1.0)) -> str:
    """Write a 1- or 3-channel image (see `to_uint8`) as an 8-bit PNG; returns the path."""
    a = to_uint8(image, value_range)
    h, w = a.shape[:2]
    color_type = 0 if a.ndim == 2 else 2
    rows = a.reshape(h, -1)
    raw = b"".join(b"\x00" + rows[i].tobytes() for i in range(h))  # filter type 0 per row

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)
    return str(path)


def read_png(path: str | os.PathLike) -> np.ndarray:
    """Read back an 8-bit grey/RGB PNG written by `save_png` (non-interlaced, filter 0 rows)."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        if tag == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype not in (0, 2):
                raise ValueError("only 8-bit grey or RGB PNGs are supported")
            ch = 1 if ctype == 0 else 3
        elif tag == b"IDAT":
            idat += body
        pos += 12 + n
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, 1 + w * ch)
    if (raw[:, 0] != 0).any():
        raise ValueError("only unfiltered PNG rows are supported")
    out = raw[:, 1:].reshape(h, w, ch)
    return out[..., 0] if ch == 1 else out
