"""Vector set commands (Redis 8): VADD, VSIM, VEMB, VLINKS ..., as ``r.vset().vadd(...)``.

As in redis-py, the commands are not methods of the client but of the
:class:`VectorSet` that :meth:`VectorSetCommands.vset` hands out; it sends
through the client (or pipeline) that made it.  Replies are shaped as
redis-py shapes them on RESP2, on both protocols.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from typing import Any

from ..exceptions import DataError
from ._args import choice, integer
from ._base import CommandGroup, EncodableT, Executor, KeyT, ReplyT
from ._replies import any_reply, integer_reply, optional_string, pairs_to_dict, string_list

__all__ = ["QuantizationOptions", "VectorSet", "VectorSetCommands"]


class QuantizationOptions(enum.Enum):
    """How :meth:`VectorSet.vadd` stores a new set's vectors."""

    NOQUANT = "NOQUANT"
    BIN = "BIN"
    Q8 = "Q8"


_QUANTIZATIONS = tuple(option.value for option in QuantizationOptions)


class VectorSetCommands(CommandGroup):
    """The vector set group: redis-py's ``vset()``."""

    def vset(self) -> VectorSet:
        """Return the vector set commands, sent through this client (or pipeline)."""
        return VectorSet(self)


class VectorSet:
    """The vector set commands, with redis-py's ``VectorSet`` methods and arguments.

    ``client`` is the executor the commands go through.
    """

    def __init__(self, client: Executor) -> None:
        self.client = client

    def execute_command(self, *args: Any, **options: Any) -> Any:
        """Send a command through the client (as redis-py's ``VectorSet`` does)."""
        return self.client.execute_command(*args, **options)

    def vadd(
        self,
        key: KeyT,
        vector: Sequence[float] | bytes,
        element: EncodableT,
        reduce_dim: int | None = None,
        cas: bool | None = False,
        quantization: Any = None,
        ef: float | None = None,
        attributes: dict[str, Any] | str | None = None,
        numlinks: int | None = None,
    ) -> int:
        """Add ``element`` with ``vector`` (floats, or FP32 ``bytes``); return 1 if new, else 0.

        ``reduce_dim`` projects a new set's vectors to fewer dimensions;
        ``cas`` looks for neighbours in a thread; ``quantization`` (a
        :class:`QuantizationOptions`: NOQUANT, BIN, Q8) is the new set's;
        ``ef`` and ``numlinks`` tune the graph; ``attributes`` (a dict as
        JSON, or JSON text) are what :meth:`vsim` filters on.
        """
        if not vector or not element:
            raise DataError("vector", vector, f"and element={element!r} are both needed")
        args: list[Any] = ["VADD", key]
        if reduce_dim:
            args += ["REDUCE", integer("reduce_dim", reduce_dim, 1)]
        args += _vector_args(vector)
        args.append(element)
        if cas:
            args.append("CAS")
        if quantization:
            args.append(choice("quantization", quantization, _QUANTIZATIONS))
        if ef:
            args += ["EF", ef]
        if attributes:
            args += ["SETATTR", _json(attributes)]
        if numlinks:
            args += ["M", integer("numlinks", numlinks, 1)]
        return self.client.execute_command(*args, _parse=int)

    def vsim(
        self,
        key: KeyT,
        input: Sequence[float] | bytes | EncodableT,
        with_scores: bool | None = False,
        with_attribs: bool | None = False,
        count: int | None = None,
        ef: float | None = None,
        filter: str | None = None,
        filter_ef: str | None = None,
        truth: bool | None = False,
        no_thread: bool | None = False,
        epsilon: float | None = None,
    ) -> Any:
        """Return the elements most similar to ``input`` (a vector, FP32 ``bytes``, or an element).

        A list of elements; with ``with_scores`` ``{element: score}``, with
        ``with_attribs`` ``{element: attributes or None}``, with both
        ``{element: {"score": ..., "attributes": ...}}``.  ``count`` (10 by
        default), ``epsilon`` (the largest distance), ``filter`` (an
        expression on the attributes), ``filter_ef``, ``ef``, ``truth``
        (an exact linear scan) and ``no_thread`` tune the search.
        """
        if not input:
            raise DataError("input", input, "must be a vector or an element")
        args: list[Any] = ["VSIM", key]
        if isinstance(input, (bytes, list)):
            args += _vector_args(input)
        else:
            args += ["ELE", input]
        if with_scores:
            args.append("WITHSCORES")
        if with_attribs:
            args.append("WITHATTRIBS")
        if count:
            args += ["COUNT", integer("count", count, 1)]
        if epsilon:
            args += ["EPSILON", epsilon]
        if ef:
            args += ["EF", ef]
        if filter:
            args += ["FILTER", filter]
        if filter_ef:
            args += ["FILTER-EF", filter_ef]
        if truth:
            args.append("TRUTH")
        if no_thread:
            args.append("NOTHREAD")
        if with_scores and with_attribs:
            return self.client.execute_command(*args, _parse=_scores_and_attributes)
        if with_scores:
            return self.client.execute_command(*args, _parse=_scores)
        if with_attribs:
            return self.client.execute_command(*args, _parse=_attributes)
        return self.client.execute_command(*args, _parse=string_list)

    def vdim(self, key: KeyT) -> int:
        """Return the set's number of dimensions (ResponseError if there is no set)."""
        return self.client.execute_command("VDIM", key, _parse=integer_reply)

    def vcard(self, key: KeyT) -> int:
        """Return the number of elements (0 for no set)."""
        return self.client.execute_command("VCARD", key, _parse=integer_reply)

    def vrem(self, key: KeyT, element: EncodableT) -> int:
        """Remove ``element``; return 1 if it was there, else 0."""
        return self.client.execute_command("VREM", key, element, _parse=int)

    def vemb(self, key: KeyT, element: EncodableT, raw: bool | None = False) -> Any:
        """Return ``element``'s vector as numbers (None if absent).

        With ``raw``, ``{"quantization": ..., "raw": bytes, "l2": float}``
        (and ``"range"`` for Q8 sets): the stored form, binary, as it is.
        """
        if raw:
            parse = _RawEmbedding(self.client.decode_responses)
            return self.client.execute_command(
                "VEMB", key, element, "RAW", never_decode=True, _parse=parse
            )
        return self.client.execute_command("VEMB", key, element, _parse=_embedding)

    def vlinks(self, key: KeyT, element: EncodableT, with_scores: bool | None = False) -> Any:
        """Return ``element``'s neighbours, one list per graph level from the top (None if absent).

        With ``with_scores`` each level is ``{neighbour: similarity}``.
        """
        if with_scores:
            return self.client.execute_command(
                "VLINKS", key, element, "WITHSCORES", _parse=_scored_levels
            )
        return self.client.execute_command("VLINKS", key, element, _parse=any_reply)

    def vinfo(self, key: KeyT) -> dict[Any, Any] | None:
        """Describe the set (quantization, dimensions, size ...), or None if there is none."""
        return self.client.execute_command("VINFO", key, _parse=_info)

    def vsetattr(
        self, key: KeyT, element: EncodableT, attributes: dict[str, Any] | str | None = None
    ) -> int:
        """Set ``element``'s attributes (a dict as JSON, or JSON text; None or ``{}`` clears).

        Return 1, or 0 if the element or set is missing.
        """
        text = "{}" if attributes is None else _json(attributes)
        return self.client.execute_command("VSETATTR", key, element, text, _parse=int)

    def vgetattr(self, key: KeyT, element: EncodableT) -> Any:
        """Return ``element``'s attributes, parsed from JSON; None if it has none (or ``{}``)."""
        return self.client.execute_command("VGETATTR", key, element, _parse=_json_or_none)

    def vrandmember(self, key: KeyT, count: int | None = None) -> ReplyT | list[ReplyT] | None:
        """Return a random element (None for no set), or a list of ``count`` (< 0: repeats)."""
        if count is None:
            reply: ReplyT | list[ReplyT] | None = self.client.execute_command(
                "VRANDMEMBER", key, _parse=optional_string
            )
        else:
            reply = self.client.execute_command(
                "VRANDMEMBER", key, integer("count", count), _parse=string_list
            )
        return reply

    def vrange(
        self, key: KeyT, start: EncodableT, end: EncodableT, count: int | None = None
    ) -> list[ReplyT]:
        """Return the elements between the lex bounds ``start`` and ``end`` (``"[a"``, ``"-"``).

        ``count`` caps how many (a negative one: all).
        """
        args: list[Any] = ["VRANGE", key, start, end]
        if count is not None:
            args.append(integer("count", count))
        return self.client.execute_command(*args, _parse=string_list)


def _vector_args(vector: Any) -> list[Any]:
    if isinstance(vector, bytes):
        return ["FP32", vector]
    return ["VALUES", len(vector), *vector]


def _json(attributes: Any) -> Any:
    return json.dumps(attributes) if isinstance(attributes, dict) else attributes


def _attribute(text: Any) -> Any:
    """A VSIM element's attributes: parsed JSON, or None."""
    return json.loads(text) if text else None


def _json_or_none(reply: Any) -> Any:
    """VGETATTR: the attributes parsed, None for nil (and for ``{}``, as redis-py gives it)."""
    return _attribute(reply) or None


def _info(reply: Any) -> dict[Any, Any] | None:
    return pairs_to_dict(reply) if reply else None


def _number(value: Any) -> int | float:
    """A number as redis-py reads RESP2's text: an int where the text is one."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    try:
        return int(value)
    except ValueError:
        return float(value)


def _embedding(reply: Any) -> list[int | float] | None:
    return None if reply is None else [_number(value) for value in reply]


class _RawEmbedding:
    """VEMB RAW (read without decoding): the quantization decoded when the client decodes."""

    __slots__ = ("decode",)

    def __init__(self, decode: bool) -> None:
        self.decode = decode

    def __call__(self, reply: Any) -> dict[str, Any] | None:
        if reply is None:
            return None
        quantization = reply[0]
        if self.decode and isinstance(quantization, bytes):
            quantization = quantization.decode()
        result = {"quantization": quantization, "raw": reply[1], "l2": float(reply[2])}
        if len(reply) > 3:
            result["range"] = float(reply[3])
        return result


def _scored_levels(reply: Any) -> list[dict[Any, float]] | None:
    if reply is None:
        return None
    return [
        {neighbour: float(score) for neighbour, score in pairs_to_dict(level).items()}
        for level in reply
    ]


def _scores(reply: Any) -> dict[Any, float]:
    return {element: float(score) for element, score in pairs_to_dict(reply).items()}


def _attributes(reply: Any) -> dict[Any, Any]:
    return {element: _attribute(text) for element, text in pairs_to_dict(reply).items()}


def _scores_and_attributes(reply: Any) -> dict[Any, dict[str, Any]]:
    """RESP2's flat ``[element, score, attributes ...]``, RESP3's ``{element: [score, attrs]}``."""
    if isinstance(reply, dict):
        triples = [(element, *pair) for element, pair in reply.items()]
    else:
        it = iter(reply or ())
        triples = list(zip(it, it, it, strict=False))
    return {
        element: {"score": float(score), "attributes": _attribute(text)}
        for element, score, text in triples
    }
