"""OGC exception documents: WMS ServiceExceptionReport (1.1.1, 1.3.0) and OWS ExceptionReport (WFS 1.1, 2.0)."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr


class OwsError(Exception):
    """A request the service refuses: the OGC exception code, the parameter at fault and the HTTP status."""

    def __init__(self, code: str, locator: str | None, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.locator = locator
        self.message = message
        self.status = status


def wms_report(err: OwsError, version: str) -> tuple[bytes, str]:
    """(body, media type) of a WMS ServiceExceptionReport in the request's version."""
    loc = f" locator={quoteattr(err.locator)}" if err.locator else ""
    exc = f"<ServiceException code={quoteattr(err.code)}{loc}>{escape(err.message)}</ServiceException>"
    if version == "1.1.1":
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<ServiceExceptionReport version="1.1.1">{exc}' \
               "</ServiceExceptionReport>\n"
        return body.encode(), "application/vnd.ogc.se_xml"
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<ServiceExceptionReport version="1.3.0" '
            'xmlns="http://www.opengis.net/ogc" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="http://www.opengis.net/ogc '
            f'http://schemas.opengis.net/wms/1.3.0/exceptions_1_3_0.xsd">{exc}</ServiceExceptionReport>\n')
    return body.encode(), "text/xml"


def ows_report(err: OwsError, version: str) -> tuple[bytes, str]:
    """(body, media type) of an OWS ExceptionReport: OWS 1.1 for WFS 2.0, OWS 1.0 for WFS 1.1."""
    ows = "1.0.0" if version.startswith("1.") else "1.1"
    ver = "1.0.0" if version.startswith("1.") else "2.0.0"
    loc = f" locator={quoteattr(err.locator)}" if err.locator else ""
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/{ows}"'
            f' version="{ver}" xml:lang="id"><ows:Exception exceptionCode={quoteattr(err.code)}{loc}>'
            f"<ows:ExceptionText>{escape(err.message)}</ows:ExceptionText></ows:Exception></ows:ExceptionReport>\n")
    return body.encode(), "application/xml"
