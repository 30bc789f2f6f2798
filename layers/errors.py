"""OGC API answers 400 (not 422) for a bad query parameter: the same problem shape, another status."""

from __future__ import annotations

from geo_api.errors import InvalidParameter


class QueryParameterError(InvalidParameter):
    """A query parameter of an OGC request is invalid (400, naming the parameter)."""

    status = 400


class StaleCatalog(Exception):
    """A relation or column in the cached catalog is gone (published elsewhere): reload and retry once."""
