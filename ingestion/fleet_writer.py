"""Group commit for GPS fixes: many concurrent requests, one COPY and one commit per batch.

A request puts its decoded fix on a bounded asyncio queue with a future and awaits it; one writer task
drains whatever has queued up (up to a batch limit), flags bad fixes, COPYs the batch into the
partitioned positions table, updates the devices' last fix, commits, and only then resolves the futures.
So every acknowledged fix is committed, and PostgreSQL sees a few large transactions instead of one per
fix. If the commit fails (database restarting), every request of the batch gets the error (the router
answers 503 and the client retries); nothing of the batch is remembered. If it fails on a data error
(a value PostgreSQL refuses), the batch is halved until the offending fix is alone: the others commit,
that one gets `FixRejected` (the router answers 400, not worth retrying).

The filters' state comes from PostgreSQL in the batch's transaction: the batch's devices are locked
(`SELECT ... FOR UPDATE`, id order), their newest good fix read, and the batch's fixes looked up among the
stored good fixes (duplicates), so N processes on M machines flag a device's fixes as one process does.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone

import orjson
import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from ingestion.fix_filters import FilterConfig, FixFilter, coordinate_flag
from ingestion.osmand import Fix
from sql import query

log = logging.getLogger("satupeta.fleet.writer")

COPY_SQL = ("COPY fleet.position (device_id, fix_time, received_at, lat, lon, speed_kn, course, altitude, "
            "accuracy, hdop, batt, flag, attributes) FROM STDIN")
_DAY = 86400


class WriteFailed(Exception):
    """The batch holding this fix was not committed; the client should retry."""


class FixRejected(Exception):
    """The database refused this one fix (a data error found by isolating it); retrying will not help.

    `parameter` names the column PostgreSQL blamed, when it said."""

    def __init__(self, detail: str, parameter: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.parameter = parameter


# Errors caused by the data of some fix (not by the database being away): the batch is split to find it.
_DATA_ERRORS = (psycopg.DataError, psycopg.IntegrityError)


@dataclass(slots=True)
class _Item:
    device_id: int
    fix: Fix
    future: asyncio.Future


def _num(value: float | None) -> str:
    if value is None:
        return "\\N"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(float(value))


def _ts(epoch: float) -> str:
    try:
        return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        # Outside Python's range: clamp to a time PostgreSQL stores; the fix is flagged anyway.
        return "infinity" if epoch > 0 else "-infinity"


def copy_line(device_id: int, fix: Fix, received: str, flag: str | None) -> str:
    """One row of COPY text format for fleet.position."""
    attrs = "\\N"
    if fix.attributes:
        # orjson escapes control characters, so only backslashes need COPY's escaping.
        attrs = orjson.dumps(fix.attributes, default=str).decode().replace("\\", "\\\\")
    return "\t".join((
        str(device_id), _ts(fix.fix_time), received, _num(fix.lat), _num(fix.lon), _num(fix.speed_kn),
        _num(fix.course), _num(fix.altitude), _num(fix.accuracy), _num(fix.hdop), _num(fix.batt),
        flag or "\\N", attrs,
    )) + "\n"


def filter_config(settings) -> FilterConfig:
    """The filter limits from Settings."""
    return FilterConfig(max_speed_kmh=settings.fleet_max_speed_kmh,
                        future_tolerance_s=settings.fleet_future_tolerance_s,
                        jump_reset_s=settings.fleet_jump_reset_s)


class GroupCommitWriter:
    """The writer tasks of a process; `submit` returns the fix's flag once it is committed.

    Two writers by default, so one batch is being built and copied while the other waits for its commit
    (the commit's fsync is the latency every waiting request shares)."""

    def __init__(self, pool: AsyncConnectionPool, *, batch_max: int = 5000, queue_max: int = 20000,
                 fix_filter: FixFilter | None = None, retention_days: int = 400, writers: int = 2):
        self.pool = pool
        self.batch_max = batch_max
        self.queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=queue_max)
        self.filter = fix_filter or FixFilter()
        self.retention_days = retention_days
        self._known_days: set[int] = set()
        self.writers = writers
        self._tasks: list[asyncio.Task] = []
        self.committed = 0
        self.batches = 0
        # called with (batch size, flags) after each commit (the app counts them in geo_api.metrics)
        self.on_batch = None

    def start(self) -> None:
        """Start the writer tasks on the running loop."""
        if not self._tasks:
            loop = asyncio.get_running_loop()
            self._tasks = [loop.create_task(self._run(), name=f"fleet-writer-{k}") for k in range(self.writers)]

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if not self._tasks:
            return
        while not self.queue.empty():
            await asyncio.sleep(0.01)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._tasks = []

    async def submit(self, device_id: int, fix: Fix) -> str | None:
        """Queue one fix and wait until it is committed; returns its flag (None = good)."""
        if not self._tasks:
            self.start()
        future = asyncio.get_running_loop().create_future()
        item = _Item(device_id, fix, future)
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            await self.queue.put(item)  # bounded memory: wait for the writer to catch up
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.batch_max and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self._write_isolating(batch)
            except asyncio.CancelledError:
                _fail(batch, WriteFailed("writer stopped"))
                raise
            except Exception as exc:  # any failure: nobody in this batch is acknowledged
                log.warning("group commit of %d fixes failed: %s", len(batch), exc)
                _fail(batch, WriteFailed(str(exc).splitlines()[0] if str(exc) else type(exc).__name__))

    async def _write_isolating(self, batch: Sequence[_Item]) -> None:
        """Commit the batch; on a data error, halve it and commit each half, until the offending fix is alone.

        Each part is its own transaction with the filters' state read again from PostgreSQL, so good fixes
        are committed (and only then acknowledged) and only the bad one gets its error."""
        try:
            await self._write_retrying_partitions(batch)
        except _DATA_ERRORS as exc:
            if len(batch) == 1:
                first = (str(exc).splitlines() or [type(exc).__name__])[0]
                log.warning("fix of device %d refused by the database: %s", batch[0].device_id, first)
                _fail(batch, FixRejected(f"The fix was refused by the database: {first}",
                                         getattr(exc.diag, "column_name", None)))
                return
            mid = len(batch) // 2
            await self._write_isolating(batch[:mid])
            await self._write_isolating(batch[mid:])

    async def _write_retrying_partitions(self, batch: Sequence[_Item]) -> None:
        """`_write`, again in a new transaction when another session created a day's partition meanwhile.

        ensure_partition waits on its advisory lock, but its re-check can still miss a partition committed
        while it waited (the backend's catalog cache is refreshed at the next transaction), so creating it
        fails with duplicate_table; the new transaction sees it and skips it."""
        for attempt in range(3):
            try:
                await self._write(batch)
                return
            except psycopg.errors.DuplicateTable:
                if attempt == 2:
                    raise
                log.info("a day partition was created by another session meanwhile; batch retried")

    async def _write(self, batch: Sequence[_Item]) -> None:
        now = time.time()
        received = _ts(now)
        # Days are judged before the filters: only "future" skips a partition, and it needs no history.
        days = self._new_days(batch, [_stateless_flag(it.fix, now, self.filter.config) for it in batch], now)
        async with self.pool.connection() as conn:
            async with conn.transaction():
                for day in days:
                    await conn.execute(query("fleet_ensure_partition"), {"day": day})
                # The filters' state from PostgreSQL, the batch's devices locked until the commit: every
                # process flags a device's fixes alike (memory is never trusted across batches).
                checks = await self._checks_from_db(conn, batch)
                flags = [checks.check(it.device_id, it.fix, now) for it in batch]
                payload = "".join(copy_line(it.device_id, it.fix, received, fl)
                                  for it, fl in zip(batch, flags, strict=True))
                async with conn.cursor().copy(COPY_SQL) as copy:
                    await copy.write(payload)
                await conn.execute(query("fleet_device_touch"), _touch_params(batch, flags, now))
        self._known_days.update(d.toordinal() for d in days)
        self.committed += len(batch)
        self.batches += 1
        if self.on_batch is not None:
            self.on_batch(len(batch), flags)
        for it, fl in zip(batch, flags, strict=True):
            if not it.future.done():
                it.future.set_result(fl)

    async def _checks_from_db(self, conn, batch: Sequence[_Item]):
        """A filter batch whose device states are read (and locked) in this transaction."""
        ids = sorted({it.device_id for it in batch})
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query("fleet_filter_state"), {"ids": "{" + ",".join(map(str, ids)) + "}"})
            states = await cur.fetchall()
            # Only fixes with plausible coordinates can be duplicates of a stored good fix.
            cand = [k for k, it in enumerate(batch) if coordinate_flag(it.fix) is None]
            seen: dict[int, list] = {}
            if cand:
                await cur.execute(query("fleet_filter_seen"), {
                    "ks": _int_arr(cand), "ids": _int_arr(batch[k].device_id for k in cand),
                    "times": "{" + ",".join('"' + _ts(batch[k].fix.fix_time) + '"' for k in cand) + "}",
                    "lats": "{" + ",".join(_num(batch[k].fix.lat) for k in cand) + "}",
                    "lons": "{" + ",".join(_num(batch[k].fix.lon) for k in cand) + "}",
                    "tmin": _ts(min(batch[k].fix.fix_time for k in cand)),
                    "tmax": _ts(max(batch[k].fix.fix_time for k in cand))})
                for row in await cur.fetchall():
                    it = batch[row["k"]]
                    seen.setdefault(it.device_id, []).append((it.fix.fix_time, it.fix.lat, it.fix.lon))
        filt = FixFilter(self.filter.config)
        for r in states:
            filt.load(r["id"], r["last_time"], r["last_lat"], r["last_lon"], tuple(seen.get(r["id"], ())))
        return filt.batch()

    def _new_days(self, batch: Sequence[_Item], flags: Sequence[str | None], now: float) -> list[date]:
        """Days (UTC) in the batch still without a partition, within retention; others go to the default."""
        lo, hi = now - self.retention_days * _DAY, now + 2 * _DAY
        days: set[date] = set()
        for it, fl in zip(batch, flags, strict=True):
            t = it.fix.fix_time
            if fl in ("future",) or not (lo <= t <= hi):
                continue
            d = date.fromordinal(date(1970, 1, 1).toordinal() + int(t // _DAY))
            if d.toordinal() not in self._known_days:
                days.add(d)
        return sorted(days)


def _int_arr(values) -> str:
    return "{" + ",".join(map(str, values)) + "}"


def _stateless_flag(fix: Fix, now: float, config: FilterConfig) -> str | None:
    """The flags that need no history (coordinates, validity, future)."""
    flag = coordinate_flag(fix)
    if flag is None and fix.fix_time > now + config.future_tolerance_s:
        flag = "future"
    return flag


def _fail(batch: Sequence[_Item], exc: Exception) -> None:
    for it in batch:
        if not it.future.done():
            it.future.set_exception(exc)


def _touch_params(batch: Sequence[_Item], flags: Sequence[str | None], now: float) -> dict:
    """Per device: the newest good fix of the batch (or none) and the receive time.

    Arrays go as PostgreSQL array literals (text): building them is cheaper than adapting Python lists."""
    best: dict[int, Fix | None] = {}
    for it, fl in zip(batch, flags, strict=True):
        cur = best.get(it.device_id)
        if fl is None and (cur is None or it.fix.fix_time >= cur.fix_time):
            best[it.device_id] = it.fix
        elif it.device_id not in best:
            best[it.device_id] = None
    ids = sorted(best)
    fixes = [best[i] for i in ids]

    def arr(values) -> str:
        return "{" + ",".join("NULL" if v is None else repr(float(v)) for v in values) + "}"

    return {
        "ids": "{" + ",".join(map(str, ids)) + "}",
        "received": now,
        "fix_times": arr(f.fix_time if f else None for f in fixes),
        "lats": arr(f.lat if f else None for f in fixes),
        "lons": arr(f.lon if f else None for f in fixes),
        "speeds": arr(f.speed_kn if f else None for f in fixes),
        "courses": arr(f.course if f else None for f in fixes),
    }


def is_transient(exc: BaseException) -> bool:
    """Whether an error means "try again later" (database unreachable or restarting)."""
    return isinstance(exc, WriteFailed | psycopg.OperationalError | TimeoutError)
