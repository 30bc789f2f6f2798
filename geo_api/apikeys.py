"""API keys: random tokens shown once, stored as SHA-256 hashes, each with one role (e.g. gis_admin)."""

from __future__ import annotations

import hashlib
import re
import secrets

ROLE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
PREFIX = "sp_"


def new_key() -> str:
    """A fresh key (256 bits of randomness); the only time it exists in clear is when it is printed."""
    return PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    """The stored form of a key. A fast hash suffices: keys are random, not passwords."""
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
