"""GDAL for untrusted files: its network access off for the whole process, each format opened by its one driver.

GDAL normally picks a driver from a file's content, so an upload called `x.csv` that is really a VRT document
reads whatever its `<SrcDataSource>` names (`/etc/os-release`, `/vsicurl/http://...`). Here a declared format
names exactly one driver, the path given to GDAL carries that driver's prefix (`CSV:`, `GeoJSON:`, `GPKG:`) so
no other driver is ever asked, and content that names another data source is refused before GDAL sees it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyogrio

from geo_api.errors import DataError

# Applied with CPLSetConfigOption: process-wide, every thread, every later open.
NETWORK_OFF = {
    # /vsicurl/ and every handler built on it (/vsis3/, /vsigs/, /vsiaz/, streaming, ?url=) only open file names
    # with these extensions, or exactly this name: neither can match a real URL, so they never send a request.
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".satupeta-no-network",
    "CPL_VSIL_CURL_ALLOWED_FILENAME": "/satupeta-no-network",
    # Drivers that fetch with CPLHTTPFetch (WFS, OAPIF, GeoJSON from a URL, ...) go through this proxy: port 0
    # cannot be connected to, so the fetch fails inside this host without a packet sent.
    "GDAL_HTTP_PROXY": "http://0.0.0.0:0",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_NETRC": "NO",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",  # no directory listing next to an opened file
    # SQLite/GeoPackage: no VirtualOGR tables over other files, no OGR SQL functions run from views or triggers
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "ALLOW_OGR_SQL_FUNCTIONS_FROM_TRIGGER_AND_VIEW": "NO",
    "OGR_SQLITE_LOAD_EXTENSIONS": "",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
}

DRIVERS = {"geojson": "GeoJSON", "gpkg": "GPKG", "shapefile": "ESRI Shapefile", "csv": "CSV"}
_PREFIX = {"geojson": "GeoJSON:", "gpkg": "GPKG:", "csv": "CSV:", "shapefile": ""}
# Another data source named inside a file: a VRT document, GDAL's virtual file systems, WMS/WFS service XML.
_INDIRECTION = re.compile(rb"<\s*OGRVRTDataSource|<\s*VRTDataset|SrcDataSource|VirtualOGR|/vsi[a-z0-9_]{2,}"
                          rb"|<\s*GDAL_WMS|<\s*OGRWFSDataSource", re.IGNORECASE)
_CHUNK = 1 << 20
_OVERLAP = 64  # longer than any pattern above, so a match across two chunks is still seen
_SHP_MAGIC = b"\x00\x00\x27\x0a"  # file code 9994, big-endian: the first four bytes of every .shp and .shx

_applied = False


def network_off() -> None:
    """Turn GDAL's network access off for this process (idempotent); also PROJ's grid downloads."""
    global _applied
    if _applied:
        return
    pyogrio.set_gdal_config_options(NETWORK_OFF)
    try:
        from pyproj import network

        network.set_network_enabled(False)
    except ImportError:  # pragma: no cover - pyproj is a dependency
        pass
    _applied = True


def refuse_indirection(path: Path, fmt: str) -> None:
    """422 if the file names another data source (VRT, /vsi*, a service): only plain `fmt` content is read."""
    with path.open("rb") as f:
        tail = b""
        while chunk := f.read(_CHUNK):
            m = _INDIRECTION.search(tail + chunk)
            if m:
                found = m.group(0)[:40].decode("ascii", "replace")
                raise DataError(f"the file is not a plain {DRIVERS[fmt]} file ({fmt} expected): it refers to "
                                f"another data source ({found!r}); refused, nothing published",
                                extra={"parameter": "file"})
            tail = chunk[-_OVERLAP:]


def check_shapefile_parts(shp: Path, shx: Path) -> None:
    """422 unless the .shp and .shx start as Shapefiles do (so no other driver could claim them)."""
    for part in (shp, shx):
        with part.open("rb") as f:
            if f.read(4) != _SHP_MAGIC:
                raise DataError(f"the archive's {part.suffix} file is not an ESRI Shapefile part "
                                "(shapefile expected)", extra={"parameter": "file"})


def source_name(path: Path, fmt: str) -> str:
    """The name to give GDAL: the path behind the prefix that selects the format's one driver."""
    return f"{_PREFIX[fmt]}{path}"


def check_driver(info: dict, fmt: str) -> None:
    """422 if GDAL opened the file with any driver but the format's own (defence in depth)."""
    if info.get("driver") != DRIVERS[fmt]:
        raise DataError(f"the file was not read as {DRIVERS[fmt]} ({fmt} expected)", extra={"parameter": "file"})


network_off()
