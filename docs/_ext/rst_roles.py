"""A griffe extension: greenpool's reST-flavoured docstrings read as Markdown.

The docstrings use Sphinx roles (``:class:`~greenpool.Pool` ``,
``:meth:`stats` ``) and ``::`` before literal blocks.  mkdocstrings renders
Markdown, so each role becomes a cross-reference to the object when the
site documents it, and plain code otherwise (autorefs' *optional*
references never fail a strict build), and ``::`` becomes ``:``.
Double-backtick literals are already Markdown code spans.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(
    r":(?:py:)?(?:class|meth|func|attr|mod|data|exc|obj|const):`(?P<body>[^`]+)`"
)
_EXPLICIT = re.compile(r"(?P<title>.*?)\s*<(?P<target>[^>]+)>\Z", re.DOTALL)
_LITERAL_BLOCK = re.compile(r"::(?=\n\n)")


def _bases(obj: Any) -> tuple[str, str]:
    """Where a relative name is looked up: the class (for its members), then the module."""
    module = obj if obj.is_module else obj.module
    if obj.is_class or obj.is_module:
        return str(obj.path), str(module.path)
    parent = obj.parent
    return (str(parent.path) if parent is not None else str(module.path)), str(module.path)


def _rewrite(text: str, obj: Any) -> str:
    def role(match: re.Match[str]) -> str:
        body = match["body"].strip()
        explicit = _EXPLICIT.match(body)
        if explicit:
            title, target = explicit["title"], explicit["target"].lstrip("~")
        else:
            target = body.lstrip("~")
            title = target.rsplit(".", 1)[-1] if body.startswith("~") else target
        target = target.rstrip("()")
        fallback = ""
        if not target.startswith("greenpool"):
            near, module = _bases(obj)
            target, fallback = f"{near}.{target}", f' slug="{module}.{target}"'
        return (f'<autoref identifier="{target}"{fallback} optional>'
                f"<code>{title}</code></autoref>")

    return _LITERAL_BLOCK.sub(":", _ROLE.sub(role, text))


class RstRoles(griffe.Extension):
    """Rewrite every docstring once, when its object is made."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _rewrite(obj.docstring.value, obj)
