"""Laporan photos: decode and check an upload, re-encode it without metadata, store it content-addressed.

Plain Python (Pillow), no HTTP: `clean(data, limits)` turns the bytes of one upload into a `Photo` (the clean
image and its thumbnail, re-encoded, with the EXIF GPS position offered back as a suggested location), or raises
`BadPhoto` naming the problem; `MediaStore` writes photos atomically (temp file + rename) under a directory and
removes the ones a failed write left behind. What a photo is comes from decoding it, never from its file name
or declared content type. Every stored byte is Pillow's re-encoding of the decoded pixels: EXIF, XMP, IPTC, ICC
profiles, comments and anything appended to the file never reach a reader.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

log = logging.getLogger("satupeta.media")

# What we accept, by the format Pillow decoded: (stored extension, content type)
FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}
CONTENT_TYPES = {ext: ctype for ext, ctype in FORMATS.values()}
# A stored name: sha256 of the stored bytes, ".t" for a thumbnail, the extension. Nothing else is ever served.
NAME = re.compile(r"^([0-9a-f]{64})(\.t)?\.(jpg|png|webp)$")
_GPS_IFD = 0x8825


class BadPhoto(Exception):
    """An upload that is not an acceptable photo; `detail` says why, `too_large` asks for 413 instead of 400."""

    def __init__(self, detail: str, *, too_large: bool = False):
        super().__init__(detail)
        self.detail = detail
        self.too_large = too_large


@dataclass(frozen=True)
class Limits:
    """The bounds of one upload (from Settings.media_*)."""

    max_bytes: int
    max_pixels: int
    max_side: int
    thumb_side: int
    jpeg_quality: int = 85


@dataclass(frozen=True)
class Photo:
    """A cleaned photo, ready to store: its bytes, its thumbnail's, and what we learnt from the upload."""

    data: bytes
    thumb: bytes
    ext: str
    width: int
    height: int
    gps: tuple[float, float] | None  # (lat, lon) from EXIF, offered back, never stored

    @property
    def digest(self) -> str:
        """sha256 of the stored bytes (the content address)."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def name(self) -> str:
        """The stored file name of the photo."""
        return f"{self.digest}.{self.ext}"

    @property
    def thumb_name(self) -> str:
        """The stored file name of its thumbnail."""
        return f"{self.digest}.t.{self.ext}"

    @property
    def content_type(self) -> str:
        """The media type of both files."""
        return CONTENT_TYPES[self.ext]

    def entry(self, base: str = "/media/") -> dict[str, Any]:
        """The JSON entry kept in a history row's media array (laporan_status.media)."""
        return {"url": base + self.name, "thumb_url": base + self.thumb_name, "type": self.content_type,
                "width": self.width, "height": self.height}


# ---------------------------------------------------------------------------------------------------- checks
def _end_of_jpeg(data: bytes) -> int:
    """Offset just past the JPEG's EOI marker, walking the segments (so bytes hidden after it are seen)."""
    i, n = 2, len(data)
    while i + 2 <= n:
        if data[i] != 0xFF:
            raise BadPhoto("the JPEG's structure is broken (a segment does not start with a marker)")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xD9:
            return i + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            i += 2
            continue
        if i + 4 > n:
            break
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        i += 2 + length
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next marker that is not a stuffed byte/RST
            while True:
                j = data.find(b"\xff", i)
                if j < 0 or j + 1 >= n:
                    raise BadPhoto("the JPEG is truncated (it ends inside the image data)")
                nxt = data[j + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
                    i = j + 1 if nxt == 0xFF else j + 2
                    continue
                i = j
                break
    raise BadPhoto("the JPEG is truncated (no end-of-image marker)")


def _end_of_png(data: bytes) -> int:
    """Offset just past the PNG's IEND chunk."""
    i, n = 8, len(data)
    while i + 12 <= n:
        length, kind = struct.unpack(">I4s", data[i:i + 8])
        i += 12 + length
        if kind == b"IEND":
            return i
    raise BadPhoto("the PNG is truncated (no IEND chunk)")


def _end_of_webp(data: bytes) -> int:
    """Offset just past the RIFF container the WebP declares."""
    if len(data) < 12:
        raise BadPhoto("the WebP is truncated")
    size = struct.unpack("<I", data[4:8])[0] + 8
    if size > len(data):
        raise BadPhoto("the WebP is truncated (shorter than its RIFF header says)")
    return size + (size & 1)


_ENDS = {"JPEG": _end_of_jpeg, "PNG": _end_of_png, "WEBP": _end_of_webp}


def _no_trailer(fmt: str, data: bytes, more_jpegs: bool = False) -> None:
    """Refuse bytes after the image's own end (a polyglot: a ZIP, HTML or script appended to a real image).

    An MPO (a phone's JPEG with a depth map or gain map) may be followed by more whole JPEGs, and only by them."""
    end = _ENDS[fmt](data)
    while more_jpegs and data[end:end + 3] == b"\xff\xd8\xff":
        end += _end_of_jpeg(data[end:])
    rest = data[end:]
    if rest.strip(b"\x00\xff\r\n"):
        raise BadPhoto(f"{len(rest)} bytes follow the end of the {fmt} image (a file hidden inside a photo, "
                       "e.g. ZIP or HTML appended, is not accepted)")


def _gps(im: Image.Image) -> tuple[float, float] | None:
    """The EXIF GPS position (lat, lon) when the photo carries a plausible one."""
    try:
        g = im.getexif().get_ifd(_GPS_IFD)
        if not g or 2 not in g or 4 not in g:
            return None

        def deg(v, ref) -> float:
            d, m, s = (float(x) for x in v)
            val = d + m / 60 + s / 3600
            return -val if str(ref).upper().startswith(("S", "W")) else val

        lat, lon = deg(g[2], g.get(1, "N")), deg(g[4], g.get(3, "E"))
    except Exception:  # noqa: BLE001 - a broken GPS block is only a missing suggestion
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return round(lat, 7), round(lon, 7)


def _to_srgb(im: Image.Image) -> Image.Image:
    """Convert pixels tagged with an ICC profile to sRGB, so dropping the profile keeps the colours."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "RGBA"):
        return im
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode=im.mode) or im
    except Exception:  # noqa: BLE001 - a broken profile: keep the pixels as they are
        return im


def _pixels(im: Image.Image, fmt: str) -> Image.Image:
    """A fresh image holding only the pixels (no info, no EXIF), upright, in a mode the format stores."""
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    if im.mode == "CMYK":
        im = im.convert("RGB")
    elif im.mode.startswith("I"):  # 16-bit grey (PNG): scale to 8 bits (a plain convert clips it all to white)
        im = im.convert("I").point(lambda v: v / 257).convert("L")
    im = _to_srgb(im)
    if fmt == "JPEG":
        mode = "L" if im.mode in ("L", "1", "LA") else "RGB"
    else:
        mode = "RGBA" if has_alpha else ("L" if im.mode in ("L", "1") else "RGB")
    if im.mode != mode:
        im = im.convert(mode)
    fresh = Image.new(mode, im.size)
    fresh.paste(im)
    return fresh


def _decode_scaled(im: Image.Image, max_side: int) -> None:
    """Let libjpeg decode a large JPEG at 1/2, 1/4 or 1/8 (DCT scaling: far faster than decoding it whole and
    resizing), as long as it stays at least 3/4 of max_side; the final resize then has little or nothing to do."""
    longest = max(im.size)
    for scale in (8, 4, 2):
        if longest / scale >= 0.75 * max_side:
            im.draft(im.mode, (-(-im.size[0] // scale), -(-im.size[1] // scale)))
            return


def _encode(im: Image.Image, fmt: str, quality: int) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        im.save(out, "JPEG", quality=quality, optimize=True, exif=b"", icc_profile=None)
    elif fmt == "PNG":
        im.save(out, "PNG", optimize=False, compress_level=6, exif=b"", icc_profile=None)
    else:
        im.save(out, "WEBP", quality=quality, exif=b"", icc_profile=None, xmp=b"")
    return out.getvalue()


def _jpeg_markers(data: bytes) -> list[int]:
    """The markers of the header segments up to the first scan (where any metadata lives)."""
    out, i = [], 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        out.append(marker)
        if marker == 0xDA:
            break
        i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
    return out


def _png_chunks(data: bytes) -> list[bytes]:
    out, i = [], 8
    while i + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[i:i + 8])
        out.append(kind)
        i += 12 + length
    return out


def _webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, i = [], 12
    while i + 8 <= len(data):
        kind, length = data[i:i + 4], struct.unpack("<I", data[i + 4:i + 8])[0]
        out.append((kind, data[i + 8:i + 8 + min(length, 4)]))
        i += 8 + length + (length & 1)
    return out


# Everything an image needs to be drawn, and nothing else (APP0 is JFIF's density header)
_JPEG_OK = {0xC0, 0xC1, 0xC2, 0xC4, 0xDB, 0xDD, 0xDA, 0xE0}
_PNG_OK = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS"}
_WEBP_OK = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}
_VP8X_META = 0x20 | 0x08 | 0x04  # ICC, EXIF, XMP flags


class MetadataLeft(RuntimeError):
    """A re-encoded photo still carries a metadata block (a bug here, never the caller's fault)."""


def assert_clean(data: bytes) -> None:
    """Raise MetadataLeft if encoded bytes carry any block beyond pixels (EXIF, XMP, ICC, comments, text)."""
    if data[:3] == b"\xff\xd8\xff":
        extra = [hex(m) for m in _jpeg_markers(data) if m not in _JPEG_OK]
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        extra = [k.decode("latin-1") for k in _png_chunks(data) if k not in _PNG_OK]
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        chunks = _webp_chunks(data)
        extra = [k.decode("latin-1") for k, _ in chunks if k not in _WEBP_OK]
        extra += ["VP8X metadata flags" for k, head in chunks if k == b"VP8X" and head and head[0] & _VP8X_META]
    else:
        extra = ["unknown container"]
    if extra:
        raise MetadataLeft(f"metadata left in a re-encoded photo: {', '.join(extra)}")


# ---------------------------------------------------------------------------------------------------- clean
def clean(data: bytes, limits: Limits) -> Photo:
    """Check one upload and re-encode it: JPEG, PNG or WebP by decoding, within the limits, no metadata."""
    if not data:
        raise BadPhoto("the file is empty (0 bytes)")
    if len(data) > limits.max_bytes:
        raise BadPhoto(f"the file is {len(data)} bytes; at most {limits.max_bytes} are accepted", too_large=True)
    try:
        im = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except UnidentifiedImageError:
        raise BadPhoto("the file is not a JPEG, PNG or WebP image") from None
    except Image.DecompressionBombError:
        raise BadPhoto(f"the image has more than {limits.max_pixels} pixels", too_large=True) from None
    except Exception as exc:  # noqa: BLE001 - any decoder error is the upload's fault
        raise BadPhoto(f"the image header cannot be read ({type(exc).__name__})") from None
    with im:
        fmt = "JPEG" if im.format == "MPO" else im.format  # MPO: a JPEG with more pictures after it
        if fmt not in FORMATS:
            raise BadPhoto(f"the file is {im.format}, not a JPEG, PNG or WebP image")
        w, h = im.size
        # before decoding a single pixel: a tiny file can declare a gigapixel image (decompression bomb)
        if w * h > limits.max_pixels:
            raise BadPhoto(f"the image is {w}x{h} pixels; at most {limits.max_pixels} pixels are accepted",
                           too_large=True)
        if im.format != "MPO" and getattr(im, "n_frames", 1) > 1:
            raise BadPhoto(f"the {fmt} is animated ({im.n_frames} frames); send a still photo")
        _no_trailer(fmt, data, more_jpegs=im.format == "MPO")
        if fmt == "JPEG":
            _decode_scaled(im, limits.max_side)
        try:
            im.load()
        except Exception as exc:  # noqa: BLE001 - truncated or corrupt pixel data
            raise BadPhoto(f"the {fmt} image data is truncated or corrupt ({str(exc)[:80]})") from None
        gps = _gps(im)
        upright = ImageOps.exif_transpose(im)  # apply the EXIF orientation, then forget EXIF
        pixels = _pixels(upright, fmt)
    pixels.thumbnail((limits.max_side, limits.max_side), Image.Resampling.BICUBIC, reducing_gap=2.0)
    thumb = pixels.copy()
    thumb.thumbnail((limits.thumb_side, limits.thumb_side), Image.Resampling.BICUBIC, reducing_gap=2.0)
    body, small = _encode(pixels, fmt, limits.jpeg_quality), _encode(thumb, fmt, limits.jpeg_quality)
    assert_clean(body)
    assert_clean(small)
    ext = FORMATS[fmt][0]
    return Photo(data=body, thumb=small, ext=ext, width=pixels.width, height=pixels.height, gps=gps)


# ---------------------------------------------------------------------------------------------------- store
class MediaStore:
    """Photos on a local directory: <dir>/<first two hex digits>/<name>, written atomically."""

    def __init__(self, root: Path):
        """The directory is created on the first write."""
        self.root = Path(root)

    def path(self, name: str) -> Path | None:
        """Where a stored name lives, or None for anything that is not a stored name (no traversal possible)."""
        m = NAME.match(name)
        if m is None:
            return None
        return self.root / m.group(1)[:2] / name

    def _write(self, name: str, data: bytes) -> bool:
        """Write one file atomically; False when it already existed (same content, same name)."""
        target = self.path(name)
        assert target is not None
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return True

    def put(self, photos: list[Photo]) -> list[str]:
        """Store every photo and thumbnail; the names this call created (for `discard` if what follows fails).

        A failure part way removes what this call had written before raising."""
        created: list[str] = []
        try:
            for p in photos:
                for name, data in ((p.name, p.data), (p.thumb_name, p.thumb)):
                    if self._write(name, data):
                        created.append(name)
        except BaseException:
            self.discard(created)
            raise
        return created

    def discard(self, names: list[str]) -> None:
        """Remove files this process created for a write that did not commit."""
        for name in names:
            target = self.path(name)
            if target is not None:
                try:
                    target.unlink(missing_ok=True)
                except OSError:
                    log.warning("could not remove orphan photo %s", name)
