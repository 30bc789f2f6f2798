"""The MapServer worker: runs under Debian's /usr/bin/python3 (where python3-mapscript lives), never the venv.

One process answers one request at a time on stdin/stdout. A request frame is a 4-byte big-endian length and a
JSON object {"key", "map" (mapfile text, only when the key is new to this worker), "styles" (uploaded SLD per
layer: [[layer, name, sld], ...]), "qs" (the validated query string), "online" (the public /ows URL)}. The answer
is a length-prefixed JSON header {"ok", "content_type", "error"} and a length-prefixed body.

The mapfile (with the PostGIS connection string, password included) only ever lives in this process's memory.
A crash of MapServer ends this process alone; the app starts another (layers/ows/engine.py).
"""

from __future__ import annotations

import json
import struct
import sys

import mapscript  # Debian's python3-mapscript (MapServer 8)

_MAPS: dict[str, object] = {}


def _read(stream, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def _frame(stream) -> bytes:
    (n,) = struct.unpack(">I", _read(stream, 4))
    return _read(stream, n)


def _write(out, header: dict, body: bytes) -> None:
    head = json.dumps(header).encode()
    out.write(struct.pack(">I", len(head)) + head + struct.pack(">I", len(body)) + body)
    out.flush()


def _apply_styles(mp, styles: list) -> None:
    """Add each uploaded SLD as a class group of its layer (MapServer's own SLD parser translates it)."""
    for layer_name, style_name, sld in styles:
        layer = mp.getLayerByName(layer_name)
        if layer is None:
            continue
        kept = [layer.getClass(i).clone() for i in range(layer.numclasses)]
        mp.applySLD(sld)  # replaces the classes of the layer the SLD names
        added = [layer.getClass(i).clone() for i in range(layer.numclasses)]
        while layer.numclasses:
            layer.removeClass(0)
        for cls in kept:
            layer.insertClass(cls)
        for cls in added:
            cls.group = style_name
            layer.insertClass(cls)
        layer.classgroup = style_name


def _map(req: dict):
    key = req["key"]
    mp = _MAPS.get(key)
    if mp is None:
        if req.get("map") is None:
            return None
        mp = mapscript.msLoadMapFromString(req["map"], req.get("path") or None)
        _apply_styles(mp, req.get("styles") or [])
        _MAPS.clear()  # one catalog version at a time: the previous map is stale
        _MAPS[key] = mp
    return mp


def _dispatch(mp, req: dict) -> tuple[str, bytes]:
    mp.web.metadata.set("ows_onlineresource", req["online"])
    ows = mapscript.OWSRequest()
    ows.loadParamsFromURL(req["qs"])
    mapscript.msIO_installStdoutToBuffer()
    try:
        mp.OWSDispatch(ows)
        headers = mapscript.msIO_getAndStripStdoutBufferMimeHeaders()
        content_type = (headers.get("Content-Type") if headers is not None else None) or "text/xml"
        body = mapscript.msIO_getStdoutBufferBytes()
    finally:
        mapscript.msIO_resetHandlers()
    return content_type, body


def main() -> int:
    """Serve request frames until stdin closes."""
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames on the real stdout
    while True:
        try:
            req = json.loads(_frame(inp))
        except EOFError:
            return 0
        try:
            mp = _map(req)
            if mp is None:
                _write(out, {"ok": False, "need_map": True}, b"")
                continue
            # OWSDispatch changes the map it runs on (projection, extent, layer status): each request gets a copy
            content_type, body = _dispatch(mp.clone(), req)
            _write(out, {"ok": True, "content_type": content_type}, body)
        except Exception as exc:  # a MapServer error: reported to the app, this worker lives on
            mapscript.msResetErrorList()
            _write(out, {"ok": False, "error": str(exc)[:2000]}, b"")


if __name__ == "__main__":
    sys.exit(main())
