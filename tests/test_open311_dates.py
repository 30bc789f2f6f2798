"""Property tests over the Open311 GET requests dates: any text, any instant from year 1 to 9999 with any offset,
either or both of start_date/end_date: a window or a 400 naming the parameter, never another exception."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo_api.errors import InvalidParameter
from geo_api.routing import laporan

NOW = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
instants = st.builds(lambda dt, tz: dt.replace(tzinfo=tz).isoformat(), st.datetimes(), offsets)
zulu = st.datetimes().map(lambda dt: dt.isoformat() + "Z")
texts = st.one_of(instants, zulu, st.dates().map(str), st.text(max_size=40))
maybe = st.one_of(st.none(), texts)


def _check(q: dict[str, str], window: timedelta) -> None:
    try:
        p = laporan.list_params(q, now=NOW, window=window)
    except InvalidParameter as exc:
        name = exc.extra["parameter"]
        assert name in ("start_date", "end_date") and name in exc.detail
        return
    assert p["start"] <= p["end"] and p["end"] - p["start"] <= window


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=maybe, end=maybe, days=st.integers(min_value=1, max_value=3650))
def test_list_params_is_a_window_or_a_named_400(start, end, days):
    q = {k: v for k, v in {"start_date": start, "end_date": end}.items() if v is not None}
    _check(q, timedelta(days=days))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["start_date", "end_date"]), value=st.one_of(instants, zulu))
def test_http_any_instant_is_200_or_400(client, name, value):
    r = client.get("/open311/v2/requests.json", params={name: value})
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert name in r.json()[0]["description"]
