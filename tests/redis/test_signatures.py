"""greenpool's Redis against redis-py's, method by method, with inspect.signature.

Every public method of redis-py's ``redis.Redis`` (the installed redis-py)
must exist on :class:`greenpool.redis.Redis` with the same parameters, in
the same order, with the same defaults.  The deliberate differences are the
table in ``docs/redis.md`` ("Signature differences from redis-py"), with
both signatures written out, so the doc can't drift from the code.  The
methods not written yet are :data:`_NOT_YET` (by command group) and
:data:`_SIGNATURE_NOT_YET`: the work left, which must only shrink.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import redis

from greenpool.redis import Redis

DOC = Path(__file__).resolve().parents[2] / "docs" / "redis.md"
MARKER = "<!-- signature-differences: read by tests/redis/test_signatures.py -->"
ABSENT = "(absent)"

# redis-py's methods greenpool does not have yet, by the group they belong in.
# A helper adding a group's methods removes them here; the test fails while a
# method listed here exists, and for any missing method not listed.
_NOT_YET: dict[str, list[str]] = {}

# Methods greenpool has whose parameters are still short of redis-py's (the
# options of newer servers); the test fails once one matches.
_SIGNATURE_NOT_YET: set[str] = set()


def _public(cls: type) -> dict[str, Any]:
    return {
        name: getattr(cls, name)
        for name in dir(cls)
        if not name.startswith("_")
        and callable(getattr(cls, name, None))
        and not isinstance(inspect.getattr_static(cls, name), type)
    }


def _default(value: Any) -> str:
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return repr(value)
    return f"<{type(value).__name__}>"


def render(function: Any) -> str:
    """A method's parameters as ``(name, name=default, *args, **kwargs)``, ``self`` left out."""
    parts = []
    seen_star = False
    for param in inspect.signature(function).parameters.values():
        if param.name == "self":
            continue
        if param.kind is param.VAR_POSITIONAL:
            parts.append(f"*{param.name}")
            seen_star = True
        elif param.kind is param.VAR_KEYWORD:
            parts.append(f"**{param.name}")
        else:
            if param.kind is param.KEYWORD_ONLY and not seen_star:
                parts.append("*")
                seen_star = True
            default = "" if param.default is param.empty else f"={_default(param.default)}"
            parts.append(f"{param.name}{default}")
    return "(" + ", ".join(parts) + ")"


def documented() -> dict[str, tuple[str, str, str]]:
    """The doc's table: method -> (greenpool's signature, redis-py's, why)."""
    text = DOC.read_text()
    assert MARKER in text, f"{DOC} lost its signature-differences table"
    rows: dict[str, tuple[str, str, str]] = {}
    for line in text.split(MARKER, 1)[1].splitlines()[3:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        method, ours, theirs, why = (re.sub(r"^`|`$", "", cell) for cell in cells)
        assert why, f"{method}: a difference needs its reason"
        rows[method] = (ours, theirs, why)
    return rows


def test_the_not_yet_lists_hold_no_duplicates() -> None:
    names = [name for group in _NOT_YET.values() for name in group]
    assert len(names) == len(set(names))
    for group in _NOT_YET.values():
        assert group == sorted(group)


def test_every_redis_py_method_exists_or_is_listed() -> None:
    theirs, ours = _public(redis.Redis), _public(Redis)
    absent = {name for name, (mine, _, _) in documented().items() if mine == ABSENT}
    not_yet = {name for group in _NOT_YET.values() for name in group}
    missing = set(theirs) - set(ours) - absent
    unlisted = sorted(missing - not_yet)
    assert unlisted == [], f"missing from greenpool and from _NOT_YET: {unlisted}"
    done = sorted(not_yet & set(ours))
    assert done == [], f"written now: remove them from _NOT_YET: {done}"
    stale = sorted(not_yet - set(theirs))
    assert stale == [], f"not redis-py methods: {stale}"
    wrongly_absent = sorted(absent & set(ours))
    assert wrongly_absent == [], f"documented as absent but present: {wrongly_absent}"


def test_every_shared_method_has_redis_py_signature_or_a_documented_difference() -> None:
    theirs, ours = _public(redis.Redis), _public(Redis)
    doc = documented()
    wrong = []
    for name in sorted(set(theirs) & set(ours)):
        mine, reference = render(ours[name]), render(theirs[name])
        if name in doc:
            assert doc[name][:2] == (mine, reference), f"{name}: the doc's signatures are stale"
        elif name in _SIGNATURE_NOT_YET:
            assert mine != reference, f"{name} matches now: remove it from _SIGNATURE_NOT_YET"
        elif mine != reference:
            wrong.append(f"{name}: {mine} != redis-py's {reference}")
    assert wrong == []


def test_documented_absent_methods_name_redis_py_signatures() -> None:
    theirs = _public(redis.Redis)
    for name, (mine, reference, _) in documented().items():
        assert name in theirs, f"{name} is not a redis-py method"
        if mine == ABSENT:
            assert render(theirs[name]) == reference, f"{name}: the doc's redis-py signature"


def test_render() -> None:
    def sample(self: Any, a: Any, b: int = 1, *args: Any, c: Any = None, **kw: Any) -> None: ...

    def keyword_only(self: Any, a: Any, *, b: Any = "x") -> None: ...

    assert render(sample) == "(a, b=1, *args, c=None, **kw)"
    assert render(keyword_only) == "(a, *, b='x')"
