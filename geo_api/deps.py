"""Annotated dependencies: the settings and a pooled connection, so routes read like their signatures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import psycopg
from fastapi import Depends, Request

from geo_api.db import pooled
from geo_api.settings import Settings


def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _conn(request: Request) -> AsyncIterator[psycopg.AsyncConnection]:
    async with pooled(request.app.state.pool) as conn:
        yield conn


AppSettings = Annotated[Settings, Depends(_settings)]
Conn = Annotated[psycopg.AsyncConnection, Depends(_conn)]
