"""The ``crud_*`` methods: calls of the server's ``crud.*`` functions (tarantool/crud).

Each method calls the function of the same name (``crud_select`` calls
``crud.select``) with the arguments tarantool-python sends, and reads the
``result, err`` pair the crud module returns:

* ``err`` set: :class:`~greenpool.tarantool.CrudModuleError` (for the
  ``*_many`` functions, :class:`~greenpool.tarantool.CrudModuleManyError`
  listing every error and what succeeded);
* otherwise a :class:`CrudResult` whose attributes are the result's keys
  (``metadata``, ``rows`` ...), or the plain value for ``crud_len``,
  ``crud_count``, ``crud_truncate`` and ``crud_storage_info``.

A server without the crud module answers with ``ER_NO_SUCH_PROC``; that
:class:`~greenpool.tarantool.DatabaseError` is raised with a hint added.
On a :class:`~greenpool.tarantool.ConnectionPool` each method takes
``mode=`` (default ``Mode.ANY``, as in tarantool-python: crud is meant to
be called on a router); a single Connection ignores it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ConfigurationError, ProtocolError
from ..protocol.iproto import ER_ACCESS_DENIED, ER_NO_SUCH_PROC, DatabaseError
from .errors import CrudModuleError, CrudModuleManyError

__all__ = ["CrudError", "CrudMixin", "CrudResult", "unflatten_rows"]


class _CrudObject:
    """Attributes from a map the crud module returned (string keys; bytes keys decoded)."""

    def __init__(self, response: Any) -> None:
        if not isinstance(response, Mapping):
            raise ProtocolError(f"a crud function returned a {type(response).__name__}, not a map")
        for key, value in response.items():
            name = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
            setattr(self, name, value)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return vars(self) == vars(other)

    __hash__ = None  # type: ignore[assignment]


class CrudResult(_CrudObject):
    """A crud function's result: ``metadata``, ``rows`` and whatever else it returned."""


class CrudError(_CrudObject):
    """A crud function's error object: ``err``, ``class_name``, ``str``, ``file``, ``line`` ..."""


def unflatten_rows(rows: Sequence[Sequence[Any]], metadata: Sequence[Mapping[str, Any]]
                   ) -> list[dict[str, Any]]:
    """Turn crud ``rows`` into dicts keyed by the field names in ``metadata``."""
    if not isinstance(rows, (list, tuple)):
        raise ConfigurationError("rows", rows, "must be a list or tuple")
    if not isinstance(metadata, (list, tuple)):
        raise ConfigurationError("metadata", metadata, "must be a list or tuple")
    names = [field["name"] for field in metadata]
    return [dict(zip(names, row, strict=False)) for row in rows]


def _opts(opts: Mapping[str, Any] | None) -> dict[str, Any]:
    if opts is None:
        return {}
    if not isinstance(opts, Mapping):
        raise ConfigurationError("opts", opts, "must be a dict")
    return dict(opts)


def _space(space_name: Any) -> str:
    if not isinstance(space_name, str):
        raise ConfigurationError("space_name", space_name, "must be a str")
    return space_name


def _rows(name: str, value: Any) -> Any:
    if not isinstance(value, (list, tuple, Mapping)):
        raise ConfigurationError(name, value, "must be a list, tuple or dict")
    return value


class CrudMixin:
    """The ``crud_*`` methods; the class provides ``_crud_call(name, args, mode)``."""

    def _crud_call(self, name: str, args: list[Any], mode: Any = None) -> Any:
        raise NotImplementedError

    def _crud(self, name: str, args: list[Any], mode: Any) -> list[Any]:
        try:
            response = self._crud_call(name, args, mode)
        except DatabaseError as exc:
            if exc.code in (ER_NO_SUCH_PROC, ER_ACCESS_DENIED):
                hint = DatabaseError(
                    exc.code,
                    f"{exc.message} (is the crud module loaded on this instance, as a router, "
                    f"and may the user call {name}?)",
                    error_type=exc.error_type,
                    stack=exc.stack,
                )
                raise hint from exc
            raise
        return list(response.data)

    def _one(self, name: str, args: list[Any], mode: Any) -> CrudResult:
        data = self._crud(name, args, mode)
        if len(data) > 1 and data[1] is not None:
            raise CrudModuleError(None, CrudError(data[1]))
        return CrudResult(data[0])

    def _plain(self, name: str, args: list[Any], mode: Any) -> Any:
        data = self._crud(name, args, mode)
        if len(data) > 1 and data[1] is not None:
            raise CrudModuleError(None, CrudError(data[1]))
        return data[0] if data else None

    def _many(self, name: str, args: list[Any], mode: Any) -> CrudResult | None:
        data = self._crud(name, args, mode)
        result = CrudResult(data[0]) if data and data[0] is not None else None
        if len(data) > 1 and data[1] is not None:
            errors = data[1] if isinstance(data[1], list) else [data[1]]
            raise CrudModuleManyError(result, [CrudError(e) for e in errors])
        return result

    def crud_insert(self, space_name: str, values: Sequence[Any],
                    opts: Mapping[str, Any] | None = None, *, mode: Any = None) -> CrudResult:
        """Insert the tuple ``values`` with ``crud.insert``; blocks; CrudModuleError on error."""
        args = [_space(space_name), _rows("values", values), _opts(opts)]
        return self._one("crud.insert", args, mode)

    def crud_insert_object(self, space_name: str, values: Mapping[str, Any],
                           opts: Mapping[str, Any] | None = None, *,
                           mode: Any = None) -> CrudResult:
        """Insert the object (dict) ``values`` with ``crud.insert_object``."""
        args = [_space(space_name), _rows("values", values), _opts(opts)]
        return self._one("crud.insert_object", args, mode)

    def crud_insert_many(self, space_name: str, values: Sequence[Any],
                         opts: Mapping[str, Any] | None = None, *,
                         mode: Any = None) -> CrudResult | None:
        """Insert several tuples with ``crud.insert_many``; CrudModuleManyError on errors."""
        args = [_space(space_name), _rows("values", values), _opts(opts)]
        return self._many("crud.insert_many", args, mode)

    def crud_insert_object_many(self, space_name: str, values: Sequence[Any],
                                opts: Mapping[str, Any] | None = None, *,
                                mode: Any = None) -> CrudResult | None:
        """Insert several objects with ``crud.insert_object_many``."""
        args = [_space(space_name), _rows("values", values), _opts(opts)]
        return self._many("crud.insert_object_many", args, mode)

    def crud_get(self, space_name: str, key: Any, opts: Mapping[str, Any] | None = None,
                 *, mode: Any = None) -> CrudResult:
        """Get the tuple with primary ``key`` with ``crud.get``."""
        return self._one("crud.get", [_space(space_name), key, _opts(opts)], mode)

    def crud_update(self, space_name: str, key: Any, operations: Sequence[Any] | None = None,
                    opts: Mapping[str, Any] | None = None, *, mode: Any = None) -> CrudResult:
        """Apply ``operations`` to the tuple with ``key`` with ``crud.update``."""
        args = [_space(space_name), key, list(operations or []), _opts(opts)]
        return self._one("crud.update", args, mode)

    def crud_delete(self, space_name: str, key: Any, opts: Mapping[str, Any] | None = None,
                    *, mode: Any = None) -> CrudResult:
        """Delete the tuple with ``key`` with ``crud.delete``."""
        return self._one("crud.delete", [_space(space_name), key, _opts(opts)], mode)

    def crud_replace(self, space_name: str, values: Sequence[Any],
                     opts: Mapping[str, Any] | None = None, *, mode: Any = None) -> CrudResult:
        """Insert or replace the tuple ``values`` with ``crud.replace``."""
        args = [_space(space_name), _rows("values", values), _opts(opts)]
        return self._one("crud.replace", args, mode)

    def crud_replace_object(self, space_name: str, values: Mapping[str, Any],
                            opts: Mapping[str, Any] | None = None, *,
                            mode: Any = None) -> CrudResult:
        """Insert or replace the object ``values`` with ``crud.replace_object``."""
        args = [_space(space_name), _rows("values", values), _opts(opts)]
        return self._one("crud.replace_object", args, mode)

    def crud_replace_many(self, space_name: str, values: Sequence[Any],
                          opts: Mapping[str, Any] | None = None, *,
                          mode: Any = None) -> CrudResult | None:
        """Insert or replace several tuples with ``crud.replace_many``."""
        args = [_space(space_name), _rows("values", values), _opts(opts)]
        return self._many("crud.replace_many", args, mode)

    def crud_replace_object_many(self, space_name: str, values: Sequence[Any],
                                 opts: Mapping[str, Any] | None = None, *,
                                 mode: Any = None) -> CrudResult | None:
        """Insert or replace several objects with ``crud.replace_object_many``."""
        args = [_space(space_name), _rows("values", values), _opts(opts)]
        return self._many("crud.replace_object_many", args, mode)

    def crud_upsert(self, space_name: str, values: Sequence[Any],
                    operations: Sequence[Any] | None = None,
                    opts: Mapping[str, Any] | None = None, *, mode: Any = None) -> CrudResult:
        """Insert ``values`` or apply ``operations`` to the existing tuple (``crud.upsert``)."""
        args = [_space(space_name), _rows("values", values), list(operations or []),
                _opts(opts)]
        return self._one("crud.upsert", args, mode)

    def crud_upsert_object(self, space_name: str, values: Mapping[str, Any],
                           operations: Sequence[Any] | None = None,
                           opts: Mapping[str, Any] | None = None, *,
                           mode: Any = None) -> CrudResult:
        """Insert the object or apply ``operations`` (``crud.upsert_object``)."""
        args = [_space(space_name), _rows("values", values), list(operations or []),
                _opts(opts)]
        return self._one("crud.upsert_object", args, mode)

    def crud_upsert_many(self, space_name: str, values_operation: Sequence[Any],
                         opts: Mapping[str, Any] | None = None, *,
                         mode: Any = None) -> CrudResult | None:
        """Upsert several ``[tuple, operations]`` pairs with ``crud.upsert_many``."""
        args = [_space(space_name), _rows("values_operation", values_operation), _opts(opts)]
        return self._many("crud.upsert_many", args, mode)

    def crud_upsert_object_many(self, space_name: str, values_operation: Sequence[Any],
                                opts: Mapping[str, Any] | None = None, *,
                                mode: Any = None) -> CrudResult | None:
        """Upsert several ``[object, operations]`` pairs with ``crud.upsert_object_many``."""
        args = [_space(space_name), _rows("values_operation", values_operation), _opts(opts)]
        return self._many("crud.upsert_object_many", args, mode)

    def crud_select(self, space_name: str, conditions: Sequence[Any] | None = None,
                    opts: Mapping[str, Any] | None = None, *, mode: Any = None) -> CrudResult:
        """Select with ``conditions`` (``[[op, field, value], ...]``) with ``crud.select``."""
        args = [_space(space_name), list(conditions or []), _opts(opts)]
        return self._one("crud.select", args, mode)

    def crud_min(self, space_name: str, index_name: str,
                 opts: Mapping[str, Any] | None = None, *, mode: Any = None) -> CrudResult:
        """The tuple with the smallest key of ``index_name`` (``crud.min``)."""
        return self._one("crud.min", [_space(space_name), index_name, _opts(opts)], mode)

    def crud_max(self, space_name: str, index_name: str,
                 opts: Mapping[str, Any] | None = None, *, mode: Any = None) -> CrudResult:
        """The tuple with the largest key of ``index_name`` (``crud.max``)."""
        return self._one("crud.max", [_space(space_name), index_name, _opts(opts)], mode)

    def crud_truncate(self, space_name: str, opts: Mapping[str, Any] | None = None,
                      *, mode: Any = None) -> Any:
        """Empty the space with ``crud.truncate``; returns what it returned (True)."""
        return self._plain("crud.truncate", [_space(space_name), _opts(opts)], mode)

    def crud_len(self, space_name: str, opts: Mapping[str, Any] | None = None,
                 *, mode: Any = None) -> Any:
        """The number of tuples in the space (``crud.len``)."""
        return self._plain("crud.len", [_space(space_name), _opts(opts)], mode)

    def crud_storage_info(self, opts: Mapping[str, Any] | None = None,
                          *, mode: Any = None) -> Any:
        """The storages' status (``crud.storage_info``)."""
        return self._plain("crud.storage_info", [_opts(opts)], mode)

    def crud_count(self, space_name: str, conditions: Sequence[Any] | None = None,
                   opts: Mapping[str, Any] | None = None, *, mode: Any = None) -> Any:
        """The number of tuples matching ``conditions`` (``crud.count``)."""
        args = [_space(space_name), list(conditions or []), _opts(opts)]
        return self._plain("crud.count", args, mode)

    def crud_stats(self, space_name: str | None = None, *, mode: Any = None) -> CrudResult | None:
        """The crud module's statistics, for one space or all (``crud.stats``); None if empty."""
        if space_name is not None:
            _space(space_name)
        data = self._crud("crud.stats", [space_name], mode)
        if not data or not data[0]:
            return None
        return CrudResult(data[0])

    def crud_unflatten_rows(self, rows: Sequence[Sequence[Any]],
                            metadata: Sequence[Mapping[str, Any]], *,
                            mode: Any = None) -> list[dict[str, Any]]:
        """Rows as dicts keyed by field name (computed here; no request is sent)."""
        return unflatten_rows(rows, metadata)
