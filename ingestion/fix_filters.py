"""Bad-fix filters: which fixes are kept out of analysis, and why (they are stored, flagged).

Flags: invalid_coords (outside ±90/±180 or not finite), zero_coords (0,0: a tracker without a fix),
not_valid (the tracker said valid=false), future (fix time ahead of the server clock by more than a
tolerance), jump (implied speed from the device's last good fix above a limit), duplicate (the same
device, fix time and coordinates as a fix already accepted). Late and out-of-order fixes are not bad:
they are stored by fix time; the jump test only compares a fix with the newest good one when the fix is
newer, because a late fix's neighbours are not known here (detection orders by fix time anyway).

The specification (one, for every path: live ingest in fleet_writer, both CSV/GPX back-fills in fleet_import):
a device's fixes are judged one by one in the order they come (arrival live, file order in a back-fill), by
`FilterBatch.check_values`, starting from the device's state in PostgreSQL (its newest stored good fix, and
the good fixes already stored at the same fix times). The first matching flag wins, in this order:
invalid_coords, zero_coords, not_valid, future, duplicate, jump. A flagged fix changes no state.

The state a device's checks need (its newest good fix, the good fixes already stored) is read from
PostgreSQL per group commit, in the batch's own transaction with the devices locked (`load`), so any number
of processes on any number of machines flag a device's fixes as one process would. Within a batch (and in
the CSV back-fill) the state lives in a `FilterBatch`, which changes it with an undo log that is rolled back
when the commit fails, so a failed commit does not make the client's retry look like a duplicate.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field

from ingestion.osmand import Fix

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True)
class FilterConfig:
    """Limits of the filters (from Settings)."""

    max_speed_kmh: float = 150.0
    future_tolerance_s: float = 300.0
    jump_reset_s: float = 900.0
    duplicate_memory: int | None = None  # None: every good fix of the batch (state lives one batch only)


@dataclass(slots=True)
class DeviceState:
    """What the filters remember of one device: its newest good fix and recent fix keys."""

    last_time: float | None = None
    last_lat: float = 0.0
    last_lon: float = 0.0
    recent: OrderedDict = field(default_factory=OrderedDict)

    def copy(self) -> DeviceState:
        """An independent copy (a batch mutates copies)."""
        return DeviceState(self.last_time, self.last_lat, self.last_lon, OrderedDict(self.recent))


def coordinate_flag(fix: Fix) -> str | None:
    """The flag of a fix from its own values alone (no history)."""
    lat, lon = fix.lat, fix.lon
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        return "invalid_coords"
    if lat == 0 and lon == 0:
        return "zero_coords"
    if not fix.valid:
        return "not_valid"
    return None


class FixFilter:
    """The filters with their per-device memory."""

    def __init__(self, config: FilterConfig | None = None):
        self.config = config or FilterConfig()
        self.states: dict[int, DeviceState] = {}

    def seed(self, device_id: int, last_time: float | None, lat: float | None, lon: float | None) -> None:
        """Start a device's memory from its last stored good fix (after a restart)."""
        if device_id not in self.states:
            st = DeviceState()
            if last_time is not None and lat is not None and lon is not None:
                st.last_time, st.last_lat, st.last_lon = last_time, lat, lon
            self.states[device_id] = st

    def load(self, device_id: int, last_time: float | None, lat: float | None, lon: float | None,
             seen: tuple = ()) -> None:
        """Set a device's state from the database (replacing any memory): its newest stored good fix and the
        keys `(fix_time, lat, lon)` of fixes already stored as good."""
        st = DeviceState()
        if last_time is not None and lat is not None and lon is not None:
            st.last_time, st.last_lat, st.last_lon = last_time, lat, lon
        for key in seen:
            st.recent[key] = None
        self.states[device_id] = st

    def batch(self) -> FilterBatch:
        """A batch of checks whose state changes apply only on `commit()`."""
        return FilterBatch(self)


class FilterBatch:
    """Checks a batch of fixes, changing the device states in place with an undo log.

    The writer runs one batch at a time, so in-place changes are safe; `rollback()` undoes them when the
    commit fails (keys evicted from the duplicate memory meanwhile are not restored: a weaker memory only)."""

    def __init__(self, parent: FixFilter):
        self.parent = parent
        self._saved: dict[int, tuple[float | None, float, float] | None] = {}
        self._added: list[tuple[DeviceState, tuple]] = []

    def _state(self, device_id: int) -> DeviceState:
        st = self.parent.states.get(device_id)
        if st is None:
            st = self.parent.states[device_id] = DeviceState()
            self._saved.setdefault(device_id, None)
        elif device_id not in self._saved:
            self._saved[device_id] = (st.last_time, st.last_lat, st.last_lon)
        return st

    def check(self, device_id: int, fix: Fix, now: float) -> str | None:
        """Return the flag for this fix (None when good) and remember it in the batch's state."""
        return self.check_values(device_id, fix.fix_time, fix.lat, fix.lon, fix.valid, now)

    def check_values(self, device_id: int, fix_time: float, lat: float, lon: float, valid: bool,
                     now: float) -> str | None:
        """The specification (module docstring) for one fix given as plain values."""
        if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
            return "invalid_coords"
        if lat == 0 and lon == 0:
            return "zero_coords"
        if not valid:
            return "not_valid"
        cfg = self.parent.config
        if fix_time > now + cfg.future_tolerance_s:
            return "future"
        st = self._state(device_id)
        key = (fix_time, lat, lon)
        if key in st.recent:
            return "duplicate"
        if st.last_time is not None and fix_time >= st.last_time and self._is_jump(st, fix_time, lat, lon):
            return "jump"
        st.recent[key] = None
        self._added.append((st, key))
        if cfg.duplicate_memory is not None and len(st.recent) > cfg.duplicate_memory:
            st.recent.popitem(last=False)
        if st.last_time is None or fix_time >= st.last_time:
            st.last_time, st.last_lat, st.last_lon = fix_time, lat, lon
        return None

    def _is_jump(self, st: DeviceState, fix_time: float, lat: float, lon: float) -> bool:
        cfg = self.parent.config
        dt = fix_time - st.last_time
        if dt > cfg.jump_reset_s:
            # After a long silence the truck may really be elsewhere: accept and re-anchor.
            return False
        dist = haversine_m(st.last_lat, st.last_lon, lat, lon)
        # One second of slack so two fixes in the same second a few metres apart are not a jump.
        return dist / max(dt, 1.0) * 3.6 > cfg.max_speed_kmh

    def commit(self) -> None:
        """Keep the batch's changes (call after the database commit)."""
        self._saved.clear()
        self._added.clear()

    def rollback(self) -> None:
        """Forget the batch's changes (the commit failed; the clients will retry)."""
        for st, key in self._added:
            st.recent.pop(key, None)
        for device_id, saved in self._saved.items():
            if saved is None:
                self.parent.states.pop(device_id, None)
            else:
                st = self.parent.states[device_id]
                st.last_time, st.last_lat, st.last_lon = saved
        self.commit()
