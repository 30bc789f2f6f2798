"""Laporan photos at /media/NAME: content-addressed files (sha256 of their bytes), so cached for a year.

Only names the media module writes are served (a strict pattern, so no path can reach outside the media
directory); anything else, and a name not stored, is 404.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from geo_api import media
from geo_api.deps import MediaStoreDep
from geo_api.errors import NotFound

router = APIRouter(tags=["media"])

HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",  # a name is its content's hash: it never changes
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",
}


_IMAGE = {"schema": {"type": "string", "format": "binary"}}
PHOTO_RESPONSES = {200: {"description": "The photo (JPEG, PNG or WebP, as stored)",
                         "content": {ctype: _IMAGE for ctype in media.CONTENT_TYPES.values()}}}


@router.head("/media/{name}", include_in_schema=False)
@router.get("/media/{name}", response_class=Response, responses=PHOTO_RESPONSES)
async def photo(name: str, store: MediaStoreDep) -> Response:
    """A stored laporan photo or thumbnail (`.t.` in the name), without any metadata."""
    path = store.path(name)
    if path is None or not path.is_file():
        raise NotFound(f"No photo {name[:80]!r}")
    ext = name.rsplit(".", 1)[1]
    return FileResponse(path, media_type=media.CONTENT_TYPES[ext], headers=HEADERS)
