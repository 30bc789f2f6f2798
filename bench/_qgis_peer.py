"""The peer of `bench ows`: QGIS Server (Debian's python3-qgis, run under /usr/bin/python3) over the same tables.

Usage: /usr/bin/python3 bench/_qgis_peer.py PORT PROCESSES PROJECT_DIR HOST PGPORT DBNAME USER
Writes a QGIS project with the bench layers (styled like our "standar" style: pale fill with an outline, small
circles) and serves it over HTTP from PROCESSES pre-forked processes sharing one listening socket (QgsServer is
not thread-safe; one request at a time per process, as our MapServer workers). Prints READY when listening.
"""

from __future__ import annotations

import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

LAYERS = (("kelurahan", "public", "kelurahan", "kode", 6), ("titik_bench", "published", "titik_bench", "fid", 4))


def _project(path: str, host: str, port: str, db: str, user: str) -> None:
    from qgis.core import (
        QgsCoordinateReferenceSystem,
        QgsDataSourceUri,
        QgsFillSymbol,
        QgsMarkerSymbol,
        QgsProject,
        QgsSingleSymbolRenderer,
        QgsVectorLayer,
    )

    project = QgsProject.instance()
    ids = []
    for name, schema, table, key, wkb in LAYERS:
        uri = QgsDataSourceUri()
        uri.setConnection(host, port, db, user, "")
        uri.setDataSource(schema, table, "geom", "", key)
        uri.setSrid("4326")
        uri.setWkbType(wkb)
        layer = QgsVectorLayer(uri.uri(False), name, "postgres")
        if not layer.isValid():
            raise SystemExit(f"QGIS could not open {schema}.{table}")
        if wkb == 6:
            symbol = QgsFillSymbol.createSimple({"color": "51,136,255,89", "outline_color": "51,136,255",
                                                 "outline_width": "0.3"})
        else:
            symbol = QgsMarkerSymbol.createSimple({"name": "circle", "color": "51,136,255", "size": "1.8",
                                                   "outline_color": "255,255,255", "outline_width": "0.2"})
        layer.setRenderer(QgsSingleSymbolRenderer(symbol))
        project.addMapLayer(layer)
        ids.append(layer.id())
    project.setCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    project.writeEntry("WMSServiceCapabilities", "/", True)
    project.writeEntry("WMSCrsList", "/", ["EPSG:4326", "EPSG:3857"])
    project.writeEntry("WMSMaxWidth", "/", 4096)
    project.writeEntry("WMSMaxHeight", "/", 4096)
    project.writeEntry("WFSLayers", "/", ids)
    for lid in ids:
        project.writeEntry("WFSLayersPrecision", "/" + lid, 7)
    if not project.write(path):
        raise SystemExit("could not write the QGIS project")


def main() -> int:
    """Write the project, fork the server processes, serve until killed."""
    port, procs, folder, host, pgport, db, user = sys.argv[1:8]
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    path = os.path.join(folder, "bench.qgs")
    _project(path, host, pgport, db, user)
    HTTPServer.request_queue_size = 128  # 16 clients connect at once: the default backlog of 5 resets some
    httpd = HTTPServer(("127.0.0.1", int(port)), BaseHTTPRequestHandler, bind_and_activate=True)
    children = []
    for _ in range(int(procs) - 1):
        pid = os.fork()
        if pid == 0:
            children = []
            break
        children.append(pid)
    _serve(httpd, path)
    return 0


def _serve(httpd: HTTPServer, path: str) -> None:
    from qgis.core import QgsProject
    from qgis.server import QgsBufferServerRequest, QgsBufferServerResponse, QgsServer

    server = QgsServer()
    project = QgsProject.instance()
    project.read(path)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: a keep-alive client would hold a process

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            query = self.path.split("?", 1)[1] if "?" in self.path else ""
            req = QgsBufferServerRequest(f"http://127.0.0.1/ows?{query}")
            res = QgsBufferServerResponse()
            server.handleRequest(req, res, project)
            body = bytes(res.body())
            self.send_response(res.statusCode())
            self.send_header("Content-Type", res.headers().get("Content-Type", "application/octet-stream"))
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    httpd.RequestHandlerClass = Handler
    print("READY", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
