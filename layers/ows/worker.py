"""The MapServer worker: runs under Debian's /usr/bin/python3 (where python3-mapscript lives), never the venv.

One process answers one request at a time on stdin/stdout. A request frame is a 4-byte big-endian length and a
JSON object {"key", "map" (mapfile text, only when the key is new to this worker), "qs" (the validated query
string), "online" (the public /ows URL), "ordered" (a WFS GetFeature: read in a stable order)}, or
{"op": "sld", "layer", "type", "group", "title", "sld"} to translate an uploaded style into CLASS blocks. The
answer is a length-prefixed JSON header {"ok", "content_type", "error"} and a length-prefixed body.

The mapfile (with the PostGIS connection string, password included) only ever lives in this process's memory.
A crash of MapServer ends this process alone; the app starts another (layers/ows/engine.py).
"""

from __future__ import annotations

import json
import struct
import sys
from urllib.parse import parse_qsl

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


def _sld_classes(req: dict) -> bytes:
    """An uploaded SLD translated by MapServer's own SLD parser into CLASS blocks of the style's group.

    The SLD is applied to a throwaway map with one inline-feature layer of the same name and type, so the
    translation reads no data; the classes come back as mapfile text that the app puts into the layer's LAYER
    block (one class group per style, selected with STYLES=)."""
    name, kind = req["layer"], req["type"]
    mp = mapscript.msLoadMapFromString(
        f'MAP EXTENT 0 0 10 10 SIZE 10 10 LAYER NAME "{name}" TYPE {kind} STATUS ON '
        "FEATURE POINTS 1 1 2 1 2 2 1 1 END END END END", None)
    mp.applySLD(req["sld"])
    layer = mp.getLayerByName(name)
    out = []
    for i in range(layer.numclasses):
        cls = layer.getClass(i)
        cls.group = req["group"]
        if not cls.title and (not cls.name or cls.name.startswith(f"{name}#")):
            cls.title = req.get("title") or req["group"]
        for j in range(cls.numlabels):
            label = cls.getLabel(j)
            if not label.font:  # MapServer 8 has no built-in bitmap font: use the map's truetype one
                label.font = "sans"
                label.outlinecolor = mapscript.colorObj(255, 255, 255)
                label.outlinewidth = 2
        out.append(cls.convertToString())
    if not out:
        raise ValueError("the style has no rule MapServer can draw for this layer")
    symbols = []
    for i in range(mp.symbolset.numsymbols):
        sym = mp.symbolset.getSymbol(i)
        if sym.name and sym.name.startswith("sld_"):
            symbols.append(_symbol_text(sym))
    return json.dumps({"classes": "\n".join(out), "symbols": symbols}).encode()


def _symbol_text(sym) -> str:
    """A mark symbol MapServer made while reading the SLD, as mapfile text (so the generated map defines it)."""
    kinds = {mapscript.MS_SYMBOL_VECTOR: "VECTOR", mapscript.MS_SYMBOL_ELLIPSE: "ELLIPSE"}
    line = sym.getPoints()
    points = " ".join(f"{line.get(k).x:g} {line.get(k).y:g}" for k in range(line.numpoints))
    return (f'SYMBOL NAME "{sym.name}" TYPE {kinds.get(sym.type, "VECTOR")} FILLED '
            f'{"TRUE" if sym.filled else "FALSE"} POINTS {points} END END')


def _map(req: dict):
    key = req["key"]
    mp = _MAPS.get(key)
    if mp is None:
        if req.get("map") is None:
            return None
        mp = mapscript.msLoadMapFromString(req["map"], req.get("path") or None)
        _MAPS.clear()  # one catalog version at a time: the previous map is stale
        _MAPS[key] = mp
    return mp


# WFS parameters that select features (a spatial or attribute condition MapServer must write into the SQL)
_SELECTING = {"bbox", "filter", "resourceid", "featureid", "storedquery_id", "storedqueryid"}


def _selects(qs: str) -> bool:
    return any(k.lower() in _SELECTING for k, _ in parse_qsl(qs, keep_blank_values=True))


def _ordered(mp, qs: str) -> None:
    """WFS GetFeature reads each layer in a stable order (paging); maps are drawn without the sort. A request
    that selects nothing reads the whole table in key order without MapServer's ST_Intersects on the layer
    extent; NATIVE_FILTER=true fills the WHERE that MapServer 8 otherwise leaves empty (`WHERE  LIMIT`) when
    DATA carries !BOX! (with a FILTER it would be appended without AND, so only here)."""
    everything = not _selects(qs)
    for i in range(mp.numlayers):
        layer = mp.getLayer(i)
        data = layer.metadata.get("satupeta_wfs_all_data" if everything else "satupeta_wfs_data")
        if data:
            layer.data = data
            if everything:
                layer.setProcessingKey("NATIVE_FILTER", "true")


def _dispatch(mp, req: dict) -> tuple[str, bytes]:
    mp.web.metadata.set("ows_onlineresource", req["online"])
    if req.get("ordered"):
        _ordered(mp, req["qs"])
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
            if req.get("op") == "sld":
                _write(out, {"ok": True, "content_type": "text/plain"}, _sld_classes(req))
                continue
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
