"""A WMS/WFS POST that carries a style of its own (SLD= URL, SLD_BODY, or an XML body that is or names an SLD) is
refused with an OWS exception and nothing is fetched: a local listener that the request points at is never
connected to (a connection attempt would sit in its accept backlog, checked without blocking)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from lxml import etree

WMS = {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "kelurahan", "STYLES": "",
       "CRS": "EPSG:4326", "BBOX": "-6.3,106.55,-6.1,106.75", "WIDTH": "256", "HEIGHT": "256", "FORMAT": "image/png"}
WFS = {"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature", "TYPENAMES": "kelurahan", "COUNT": "5"}
OGC = "{http://www.opengis.net/ogc}ServiceException"
OWS = "{http://www.opengis.net/ows/1.1}Exception"


@pytest.fixture()
def listener() -> Iterator[tuple[socket.socket, str]]:
    """A TCP listener on a free loopback port that nobody should ever connect to."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    s.setblocking(False)
    try:
        yield s, f"http://127.0.0.1:{s.getsockname()[1]}"
    finally:
        s.close()


def _never_contacted(s: socket.socket) -> None:
    # the request is answered before we look; a fetch would have completed its TCP handshake by then
    with pytest.raises(BlockingIOError):
        conn, _ = s.accept()
        conn.close()


def _sld_body(url: str) -> str:
    return ('<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld" '
            'xmlns:ogc="http://www.opengis.net/ogc" xmlns:xlink="http://www.w3.org/1999/xlink">'
            f'<UserLayer><Name>kelurahan</Name><RemoteOWS><Service>WFS</Service><OnlineResource xlink:href="{url}/'
            'remote"/></RemoteOWS><UserStyle><FeatureTypeStyle><Rule><PointSymbolizer><Graphic><ExternalGraphic>'
            f'<OnlineResource xlink:href="{url}/marker.png"/><Format>image/png</Format></ExternalGraphic>'
            "</Graphic></PointSymbolizer></Rule></FeatureTypeStyle></UserStyle></UserLayer></StyledLayerDescriptor>")


def _refused(r, wms: bool, code: str = "OperationNotSupported", locator: str | None = "SLD") -> None:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert "xml" in r.headers["content-type"] and not r.headers["content-type"].startswith("image/")
    root = etree.fromstring(r.content)
    exc = root.find(OGC if wms else OWS)
    if exc is None:  # an XML body is answered in the OWS 1.1 form whichever service it tried to be
        exc = root.find(OWS)
    assert exc is not None, r.text
    got_code = exc.get("code") or exc.get("exceptionCode")
    assert got_code == code, r.text
    if locator is not None:
        assert exc.get("locator") == locator, r.text


@pytest.mark.parametrize("service", ["WMS", "WFS"])
@pytest.mark.parametrize("key", ["SLD", "sld", "SLD_BODY", "Sld_Body"])
def test_form_post_with_sld_is_refused_and_not_fetched(client, listener, service, key):
    sock, url = listener
    base = WMS if service == "WMS" else WFS
    value = f"{url}/style.sld" if key.lower() == "sld" else _sld_body(url)
    r = client.post("/ows", data={**base, key: value})
    _refused(r, service == "WMS")
    _never_contacted(sock)


def test_sld_in_the_query_string_of_a_form_post_is_refused(client, listener):
    sock, url = listener
    r = client.post("/ows", params={"SLD": f"{url}/style.sld"}, data=WMS)
    _refused(r, True)
    _never_contacted(sock)


def test_sld_on_getlegendgraphic_and_getfeatureinfo_posts(client, listener):
    sock, url = listener
    legend = {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetLegendGraphic", "LAYER": "kelurahan",
              "FORMAT": "image/png", "SLD_VERSION": "1.1.0", "SLD": f"{url}/legend.sld"}
    _refused(client.post("/ows", data=legend), True)
    info = {**WMS, "REQUEST": "GetFeatureInfo", "QUERY_LAYERS": "kelurahan", "INFO_FORMAT": "text/html", "I": "5",
            "J": "5", "SLD_BODY": _sld_body(url)}
    _refused(client.post("/ows", data=info), True)
    _never_contacted(sock)


@pytest.mark.parametrize("kind", ["sld-document", "wms-getmap-xml", "wfs-getfeature-with-sld"])
def test_xml_post_with_an_sld_is_refused_and_not_fetched(client, listener, kind):
    sock, url = listener
    if kind == "sld-document":
        body = _sld_body(url)
    elif kind == "wms-getmap-xml":  # the SLD 1.0 / WMS XML POST GetMap, whose style is an SLD reference
        body = ('<GetMap version="1.3.0" xmlns="http://www.opengis.net/ows" '
                'xmlns:sld="http://www.opengis.net/sld" xmlns:xlink="http://www.w3.org/1999/xlink">'
                f'<sld:StyledLayerDescriptor><sld:NamedLayer><sld:Name>kelurahan</sld:Name><sld:NamedStyle>'
                f'<sld:Name>x</sld:Name></sld:NamedStyle></sld:NamedLayer></sld:StyledLayerDescriptor>'
                f'<sld:OnlineResource xlink:href="{url}/style.sld"/>'
                '<CRS>EPSG:4326</CRS><BoundingBox><LowerCorner>-6.3 106.55</LowerCorner><UpperCorner>-6.1 106.75'
                '</UpperCorner></BoundingBox><Output><Format>image/png</Format><Size><Width>64</Width>'
                "<Height>64</Height></Size></Output></GetMap>")
    else:  # a WFS GetFeature whose body smuggles an SLD reference: MapServer's sld= is not a WFS parameter
        body = ('<wfs:GetFeature service="WFS" version="2.0.0" xmlns:wfs="http://www.opengis.net/wfs/2.0" '
                'xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:sld="http://www.opengis.net/sld" '
                f'sld="{url}/style.sld"><wfs:Query typeNames="kelurahan"/>'
                f'<sld:StyledLayerDescriptor xlink:href="{url}/style.sld"/></wfs:GetFeature>')
    r = client.post("/ows", content=body.encode(), headers={"Content-Type": "application/xml"})
    _refused(r, False)
    _never_contacted(sock)


def test_xml_getfeature_with_an_sld_attribute_is_refused(client, listener):
    sock, url = listener
    body = ('<wfs:GetFeature service="WFS" version="2.0.0" xmlns:wfs="http://www.opengis.net/wfs/2.0" '
            f'sld_body="{url}/x"><wfs:Query typeNames="kelurahan"/></wfs:GetFeature>')
    _refused(client.post("/ows", content=body.encode(), headers={"Content-Type": "text/xml"}), False)
    _never_contacted(sock)
