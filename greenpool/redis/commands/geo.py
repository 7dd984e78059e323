"""Geospatial commands: GEOADD, GEODIST, GEOPOS, GEOSEARCH, GEORADIUS ....

Search results come as redis-py shapes them: a list of members, or with
``withdist``/``withhash``/``withcoord`` one list per member,
``[member, distance, hash, (longitude, latitude)]`` (the parts asked for,
in that order, distances as floats, hashes as ints); a stored search gives
the number of members stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..exceptions import DataError
from ._args import integer, keyword
from ._base import CommandGroup, EncodableT, KeyT
from ._replies import GeoResults, float_or_none, geopos_reply, integer_reply, texts_or_none

_UNITS = ("m", "km", "mi", "ft")


class GeoCommands(CommandGroup):
    """The geo group: redis-py's methods for it."""

    def geoadd(
        self,
        name: KeyT,
        values: Sequence[EncodableT],
        nx: bool = False,
        xx: bool = False,
        ch: bool = False,
    ) -> int:
        """Add places, ``values`` being flat ``[longitude, latitude, member, ...]``.

        ``nx``: only new members; ``xx``: only existing ones; ``ch``: count
        the changed ones too.  Return how many were added (or changed).
        """
        if nx and xx:
            raise DataError("nx", nx, "cannot be combined with xx=True")
        if not values or len(values) % 3:
            raise DataError("values", values, "must hold longitude, latitude, member triples")
        args: list[Any] = ["GEOADD", name]
        if nx:
            args.append("NX")
        if xx:
            args.append("XX")
        if ch:
            args.append("CH")
        args += values
        return self.execute_command(*args, _parse=integer_reply)

    def geodist(
        self, name: KeyT, place1: EncodableT, place2: EncodableT, unit: str | None = None
    ) -> float | None:
        """Return the distance between two members in ``unit`` (m, km, mi, ft; default m),
        or None if either is missing."""
        args: list[Any] = ["GEODIST", name, place1, place2]
        if unit:
            args.append(keyword("unit", unit, _UNITS))
        return self.execute_command(*args, _parse=float_or_none)

    def geohash(self, name: KeyT, *values: EncodableT) -> list[str | None]:
        """Return each member's geohash as ``str`` (None for a missing member)."""
        return self.execute_command("GEOHASH", name, *values, _parse=texts_or_none)

    def geopos(self, name: KeyT, *values: EncodableT) -> list[tuple[float, float] | None]:
        """Return each member's ``(longitude, latitude)`` (None for a missing member)."""
        return self.execute_command("GEOPOS", name, *values, _parse=geopos_reply)

    def georadius(
        self,
        name: KeyT,
        longitude: float,
        latitude: float,
        radius: float,
        unit: str | None = None,
        withdist: bool = False,
        withcoord: bool = False,
        withhash: bool = False,
        count: int | None = None,
        sort: str | None = None,
        store: KeyT | None = None,
        store_dist: KeyT | None = None,
        any: bool = False,
    ) -> Any:
        """The members within ``radius`` ``unit`` of a point (GEORADIUS; see the module docs).

        ``count`` (with ``any``: the first found), ``sort`` ASC/DESC;
        ``store`` stores the members (``store_dist``: with their distances
        as scores) and returns how many.
        """
        return self._radius(
            ["GEORADIUS", name, longitude, latitude, radius],
            unit,
            withdist,
            withcoord,
            withhash,
            count,
            sort,
            store,
            store_dist,
            any,
        )

    def georadiusbymember(
        self,
        name: KeyT,
        member: EncodableT,
        radius: float,
        unit: str | None = None,
        withdist: bool = False,
        withcoord: bool = False,
        withhash: bool = False,
        count: int | None = None,
        sort: str | None = None,
        store: KeyT | None = None,
        store_dist: KeyT | None = None,
        any: bool = False,
    ) -> Any:
        """:meth:`georadius` around a member of the set (GEORADIUSBYMEMBER)."""
        return self._radius(
            ["GEORADIUSBYMEMBER", name, member, radius],
            unit,
            withdist,
            withcoord,
            withhash,
            count,
            sort,
            store,
            store_dist,
            any,
        )

    def _radius(
        self,
        args: list[Any],
        unit: str | None,
        withdist: bool,
        withcoord: bool,
        withhash: bool,
        count: int | None,
        sort: str | None,
        store: KeyT | None,
        store_dist: KeyT | None,
        any: bool,
    ) -> Any:
        args.append(keyword("unit", unit, _UNITS) if unit else "m")
        if any and count is None:
            raise DataError("any", any, "needs count")
        if withdist:
            args.append("WITHDIST")
        if withcoord:
            args.append("WITHCOORD")
        if withhash:
            args.append("WITHHASH")
        if count is not None:
            args += ["COUNT", integer("count", count, 1)]
            if any:
                args.append("ANY")
        if sort:
            args.append(keyword("sort", sort, ("ASC", "DESC")))
        if store and store_dist:
            raise DataError("store", store, "cannot be combined with store_dist")
        if store:
            args += ["STORE", store]
        if store_dist:
            args += ["STOREDIST", store_dist]
        if store or store_dist:
            return self.execute_command(*args, _parse=integer_reply)
        return self.execute_command(*args, _parse=GeoResults(withdist, withhash, withcoord))

    def geosearch(
        self,
        name: KeyT,
        member: EncodableT | None = None,
        longitude: float | None = None,
        latitude: float | None = None,
        unit: str = "m",
        radius: float | None = None,
        width: float | None = None,
        height: float | None = None,
        sort: str | None = None,
        count: int | None = None,
        any: bool = False,
        withcoord: bool = False,
        withdist: bool = False,
        withhash: bool = False,
    ) -> list[Any]:
        """The members within a circle (``radius``) or a box (``width`` by ``height``), in
        ``unit``, around a ``member`` or a point (``longitude``, ``latitude``) (GEOSEARCH).

        ``sort`` ASC/DESC, ``count`` (with ``any``: the first found);
        results as the module docs say.
        """
        args = ["GEOSEARCH", name]
        args += _search_args(
            member, longitude, latitude, unit, radius, width, height, sort, count, any
        )
        if withdist:
            args.append("WITHDIST")
        if withcoord:
            args.append("WITHCOORD")
        if withhash:
            args.append("WITHHASH")
        return self.execute_command(*args, _parse=GeoResults(withdist, withhash, withcoord))

    def geosearchstore(
        self,
        dest: KeyT,
        name: KeyT,
        member: EncodableT | None = None,
        longitude: float | None = None,
        latitude: float | None = None,
        unit: str = "m",
        radius: float | None = None,
        width: float | None = None,
        height: float | None = None,
        sort: str | None = None,
        count: int | None = None,
        any: bool = False,
        storedist: bool = False,
    ) -> int:
        """Store :meth:`geosearch`'s members in ``dest`` (with their distances as scores with
        ``storedist``); return how many (GEOSEARCHSTORE)."""
        args = ["GEOSEARCHSTORE", dest, name]
        args += _search_args(
            member, longitude, latitude, unit, radius, width, height, sort, count, any
        )
        if storedist:
            args.append("STOREDIST")
        return self.execute_command(*args, _parse=integer_reply)


def _search_args(
    member: EncodableT | None,
    longitude: float | None,
    latitude: float | None,
    unit: str,
    radius: float | None,
    width: float | None,
    height: float | None,
    sort: str | None,
    count: int | None,
    any: bool,
) -> list[Any]:
    """GEOSEARCH's FROMMEMBER/FROMLONLAT, BYRADIUS/BYBOX, order and COUNT."""
    args: list[Any] = []
    if member is not None:
        if longitude is not None or latitude is not None:
            raise DataError("member", member, "cannot be combined with longitude and latitude")
        args += ["FROMMEMBER", member]
    elif longitude is None or latitude is None:
        raise DataError("member", member, "a member, or a longitude and a latitude, is needed")
    else:
        args += ["FROMLONLAT", longitude, latitude]
    unit = keyword("unit", unit, _UNITS)
    if radius is not None:
        if width is not None or height is not None:
            raise DataError("radius", radius, "cannot be combined with width and height")
        args += ["BYRADIUS", radius, unit]
    elif width is None or height is None:
        raise DataError("radius", radius, "a radius, or a width and a height, is needed")
    else:
        args += ["BYBOX", width, height, unit]
    if sort:
        args.append(keyword("sort", sort, ("ASC", "DESC")))
    if count:
        args += ["COUNT", integer("count", count, 1)]
        if any:
            args.append("ANY")
    elif any:
        raise DataError("any", any, "needs count")
    return args
