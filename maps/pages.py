"""The thematic maps (laporan, armada, dasbor) as page builders shared by the server and the export."""

from __future__ import annotations

BUILDERS: dict = {}
