"""Property tests: any CQL2 text or JSON filter, bbox or datetime is a 200 or a 400 naming its parameter, never 500."""

import json

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

ITEMS = "/ogc/collections/kelurahan/items"
PROPS = st.sampled_from(["nama", "luas_km2", "geom", "x", ""])
LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8),
                 st.builds(lambda p: {"property": p}, st.one_of(PROPS, st.lists(PROPS, max_size=2),
                                                               st.dictionaries(PROPS, st.integers(), max_size=1))))
OPS = st.sampled_from(["=", "<", "and", "or", "not", "like", "between", "in", "s_intersects", "t_after",
                       "isNull", "casei", "bogus"])
JSON_TREE = st.recursive(LEAF, lambda kids: st.one_of(
    st.lists(kids, max_size=3),
    st.builds(lambda op, args: {"op": op, "args": args}, OPS, st.lists(kids, max_size=3))), max_leaves=20)
HS = hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _ok_or_400(r, param):
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert r.json()["parameter"] == param


@HS
@given(tree=JSON_TREE)
def test_any_cql2_json_is_200_or_400(client, tree):
    _ok_or_400(client.get(ITEMS, params={"filter": json.dumps(tree), "filter-lang": "cql2-json", "limit": 1}),
               "filter")


def test_deeply_nested_cql2_json_is_400(client):
    deep = 1
    for _ in range(400):
        deep = {"op": "not", "args": [deep]}
    r = client.get(ITEMS, params={"filter": json.dumps(deep), "filter-lang": "cql2-json"})
    assert r.status_code == 400 and r.json()["parameter"] == "filter"


@HS
@given(text=st.text(alphabet="nama luas_km2 =<>()'\"0123456789.,ANDORNOTLIKE%-", max_size=40))
def test_any_cql2_text_is_200_or_400(client, text):
    _ok_or_400(client.get(ITEMS, params={"filter": text, "limit": 1}), "filter")


@HS
@given(nums=st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(1e39)), min_size=4,
                     max_size=4))
def test_any_bbox_is_200_or_400(client, nums):
    _ok_or_400(client.get(ITEMS, params={"bbox": ",".join(repr(n) for n in nums), "limit": 1}), "bbox")


@HS
@given(year=st.sampled_from([1, 9999, 10000, 0]), tail=st.sampled_from(["", "-12-31", "-12-31T23:59:59Z", "/.."]))
def test_datetime_edges_are_200_or_400(client, year, tail):
    _ok_or_400(client.get(ITEMS, params={"datetime": f"{year:04d}{tail}", "limit": 1}), "datetime")
