"""The geo group against a real redis-server, and against redis-py.

Runs under the four client configurations through the reference executor
(see ``conftest.py``); the scenario compares every reply shape (members,
``withdist``/``withcoord``/``withhash`` rows, stored counts) with redis-py's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from canned import assert_refused_alike, assert_refused_before_sending
from commands_executor import Keys, SocketRedis, t
from wire import assert_sends_same

Results = dict[str, Any]
Crosscheck = Callable[[Callable[[Any, Keys], Results]], None]

# Palermo and Catania, as in Redis's documentation.
PLACES = [13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania"]


def test_geoadd_geodist_geopos_geohash(r: SocketRedis, k: Keys) -> None:
    assert r.geoadd(k("g"), PLACES) == 2
    assert r.geoadd(k("g"), [13.0, 38.0, "Palermo"], xx=True, ch=True) == 1
    assert r.geoadd(k("g"), [13.0, 38.0, "Palermo"], nx=True) == 0
    r.geoadd(k("g"), PLACES, xx=True)
    distance = r.geodist(k("g"), "Palermo", "Catania")
    assert type(distance) is float and 166_274 < distance < 166_275
    assert r.geodist(k("g"), "Palermo", "Catania", "km") == pytest.approx(166.2742)
    assert r.geodist(k("g"), "Palermo", "Nowhere") is None
    (lon, lat), missing = r.geopos(k("g"), "Palermo", "Nowhere")
    assert (lon, lat) == pytest.approx((13.361389, 38.115556), abs=1e-5)
    assert missing is None
    assert r.geohash(k("g"), "Palermo", "Nowhere") == ["sqc8b49rny0", None]


def test_geosearch_shapes(r: SocketRedis, k: Keys) -> None:
    r.geoadd(k("g"), PLACES)
    assert r.geosearch(k("g"), longitude=15, latitude=37, radius=200, unit="km",
                       sort="ASC") == t(r, ["Catania", "Palermo"])
    rows = r.geosearch(k("g"), member="Palermo", radius=200, unit="km", sort="DESC",
                       withdist=True, withcoord=True, withhash=True)
    assert [row[0] for row in rows] == t(r, ["Catania", "Palermo"])
    _, dist, geohash, (lon, lat) = rows[0]
    assert type(dist) is float and dist == pytest.approx(166.2742)
    assert type(geohash) is int and type(lon) is float and type(lat) is float
    assert r.geosearch(k("g"), longitude=15, latitude=37, width=400, height=400, unit="km",
                       count=1, any=True) in (t(r, ["Palermo"]), t(r, ["Catania"]))
    assert r.geosearchstore(k("d"), k("g"), member="Catania", radius=100, unit="km") == 1
    assert r.zrange(k("d"), 0, -1) == t(r, ["Catania"])
    assert r.geosearchstore(k("d"), k("g"), longitude=15, latitude=37, radius=200,
                            unit="km", storedist=True) == 2
    assert r.zscore(k("d"), "Catania") == pytest.approx(56.4413, abs=1e-3)


def test_georadius_shapes(r: SocketRedis, k: Keys) -> None:
    r.geoadd(k("g"), PLACES)
    assert r.georadius(k("g"), 15, 37, 200, "km", sort="ASC") == t(r, ["Catania", "Palermo"])
    rows = r.georadius(k("g"), 15, 37, 100, "km", withdist=True)
    assert rows == [[t(r, "Catania"), pytest.approx(56.4413)]]
    assert r.georadius(k("g"), 15, 37, 200, "km", store=k("d")) == 2
    assert r.georadiusbymember(k("g"), "Palermo", 100, "km", withcoord=True) == [
        [t(r, "Palermo"), pytest.approx((13.361389, 38.115556), abs=1e-5)]
    ]
    assert r.georadiusbymember(k("g"), "Palermo", 200, "km", store_dist=k("e")) == 2
    assert r.zscore(k("e"), "Palermo") == 0.0


# ============================================================================
# The same calls through redis-py


def geo_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    g = k("g")
    out["geoadd"] = c.geoadd(g, PLACES)
    out["geoadd ch"] = c.geoadd(g, [13.4, 38.1, "Palermo", 2.35, 48.85, "Paris"], ch=True)
    out["geoadd nx"] = c.geoadd(g, [1.0, 1.0, "Paris"], nx=True)
    out["geodist"] = c.geodist(g, "Palermo", "Catania")
    out["geodist km"] = c.geodist(g, "Palermo", "Catania", "km")
    out["geodist missing"] = c.geodist(g, "Palermo", "Nowhere")
    out["geohash"] = c.geohash(g, "Palermo", "Nowhere", "Paris")
    out["geopos"] = c.geopos(g, "Palermo", "Nowhere")
    out["geopos missing key"] = c.geopos(k("none"), "a")
    for withs in range(8):
        flags = {"withdist": bool(withs & 1), "withcoord": bool(withs & 2),
                 "withhash": bool(withs & 4)}
        out[f"georadius {flags}"] = c.georadius(g, 15, 37, 300, "km", sort="ASC", **flags)
        out[f"georadiusbymember {flags}"] = c.georadiusbymember(
            g, "Palermo", 300, "km", sort="DESC", count=2, **flags
        )
        out[f"geosearch {flags}"] = c.geosearch(
            g, longitude=15, latitude=37, radius=3000, unit="km", sort="ASC", **flags
        )
    out["georadius none"] = c.georadius(g, 0, 0, 1)
    out["georadius store"] = c.georadius(g, 15, 37, 300, "km", store=k("s"))
    out["georadius store_dist"] = c.georadius(g, 15, 37, 300, "km", store_dist=k("s2"))
    out["stored"] = c.zrange(k("s2"), 0, -1, withscores=True)
    out["georadiusbymember store"] = c.georadiusbymember(g, "Paris", 10, store=k("s3"))
    out["geosearch box"] = c.geosearch(g, member="Catania", width=2000, height=2000,
                                       unit="km", sort="DESC", count=2)
    out["geosearch mi"] = c.geosearch(g, longitude=13, latitude=38, radius=100, unit="mi",
                                      withdist=True)
    out["geosearchstore"] = c.geosearchstore(k("s4"), g, member="Palermo", radius=500,
                                             unit="km")
    out["geosearchstore dist"] = c.geosearchstore(k("s5"), g, longitude=15, latitude=37,
                                                  radius=500, unit="km", storedist=True,
                                                  count=1)
    out["stored dist"] = c.zrange(k("s5"), 0, -1, withscores=True)
    return out


def test_geo_matches_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(geo_scenario)


# ============================================================================
# What is sent, against redis-py


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("geoadd", ("g", [1.5, 2.5, "a"]), {}),
        ("geoadd", ("g", [1, 2, "a", 3, 4, "b"]), {"nx": True, "ch": True}),
        ("geoadd", ("g", [1, 2, "a"]), {"xx": True}),
        ("geodist", ("g", "a", "b"), {}),
        ("geodist", ("g", "a", "b", "km"), {}),
        ("geohash", ("g", "a", "b"), {}),
        ("geopos", ("g", "a"), {}),
        ("georadius", ("g", 1, 2, 100), {}),
        ("georadius", ("g", 1, 2, 100, "km"),
         {"withdist": True, "withcoord": True, "withhash": True, "count": 3, "any": True,
          "sort": "DESC"}),
        ("georadius", ("g", 1, 2, 100), {"store": "d"}),
        ("georadius", ("g", 1, 2, 100), {"store_dist": "d", "sort": "ASC", "count": 1}),
        ("georadiusbymember", ("g", "a", 100), {"unit": "mi", "withdist": True}),
        ("georadiusbymember", ("g", "a", 100), {"store": "x", "unit": "ft"}),
        ("geosearch", ("g",), {"member": "a", "radius": 10}),
        ("geosearch", ("g",),
         {"longitude": 1, "latitude": 2, "width": 3, "height": 4, "unit": "km", "sort": "ASC",
          "count": 2, "any": True, "withcoord": True, "withdist": True, "withhash": True}),
        ("geosearch", ("g",), {"member": "a", "radius": 1.5, "sort": "DESC", "count": 1}),
        ("geosearchstore", ("d", "g"), {"member": "a", "radius": 10, "storedist": True}),
        ("geosearchstore", ("d", "g"),
         {"longitude": 1, "latitude": 2, "width": 3, "height": 4, "count": 5, "any": True}),
    ],
)
def test_sends_what_redis_py_sends(method: str, args: tuple[Any, ...],
                                   kwargs: dict[str, Any]) -> None:
    assert_sends_same(method, *args, **kwargs)


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("geoadd", ("g", [1, 2, "a"]), {"nx": True, "xx": True}),
        ("geoadd", ("g", [1, 2]), {}),
        ("geodist", ("g", "a", "b", "miles"), {}),
        ("georadius", ("g", 1, 2, 3, "yd"), {}),
        ("georadius", ("g", 1, 2, 3), {"any": True}),
        ("georadius", ("g", 1, 2, 3), {"sort": "UP"}),
        ("georadius", ("g", 1, 2, 3), {"store": "a", "store_dist": "b"}),
        ("georadiusbymember", ("g", "m", 3), {"any": True}),
        ("geosearch", ("g",), {"radius": 1}),
        ("geosearch", ("g",), {"member": "a", "longitude": 1, "latitude": 2, "radius": 1}),
        ("geosearch", ("g",), {"member": "a"}),
        ("geosearch", ("g",), {"member": "a", "radius": 1, "width": 2, "height": 2}),
        ("geosearch", ("g",), {"member": "a", "radius": 1, "unit": "yd"}),
        ("geosearch", ("g",), {"member": "a", "radius": 1, "sort": "UP"}),
        ("geosearch", ("g",), {"member": "a", "radius": 1, "any": True}),
        ("geosearchstore", ("d", "g"), {"longitude": 1, "radius": 1}),
    ],
)
def test_bad_arguments_are_refused_as_redis_py_refuses_them(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    assert_refused_alike(method, *args, **kwargs)


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("geoadd", ("g", []), {}),
        ("georadius", ("g", 1, 2, 3), {"count": 0}),
        ("geosearch", ("g",), {"member": "a", "radius": 1, "count": "2x"}),
    ],
)
def test_stricter_checks_raise_data_error_and_send_nothing(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    assert_refused_before_sending(method, *args, **kwargs)
