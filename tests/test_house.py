"""House rules read from the package's source: no module reaches into another's private names.

A name with a leading underscore belongs to the module that defines it.
Inside that module its classes may read each other's (``_Lease`` calls
``Pool._checkout``); outside, another module goes through what the class
offers (a property, a method, a documented hook).  This test reads every
module's syntax tree and fails on:

* ``obj._name`` (read or written) where ``obj`` is not ``self`` or ``cls``
  and no class of this module defines ``_name``;
* ``from module import _name``: a private name taken from a module of
  another package (a package split from one module, such as
  ``protocol/iproto/``, shares its internals among its modules; a private
  module such as ``protocol/_common.py`` serves its package's subpackages).

Dunders are public.  ``ALLOWED`` lists the few exceptions, each with its reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import greenpool

PACKAGE = Path(greenpool.__file__).parent

#: (module, name): why the module may use another's private name.
ALLOWED: dict[tuple[str, str], str] = {
    ("greenpool/_util.py", "_getframe"): "sys._getframe: the caller's frame, cheaply",
    ("greenpool/testing/servers/_process.py", "_exit"): "os._exit in a forked child",
    ("greenpool/postgres/_green.py", "_psycopg"): "psycopg2's C module: its file is the "
    "libpq it links, for PQcancelCreate (not wrapped by psycopg2)",
    ("greenpool/postgres/_green3.py", "_WaitTimeout"): "psycopg 3.3's wait deadline error, "
    "not exported under another name",
    ("greenpool/protocol/iproto/parser.py", "_body"): "the parser's fast path fills Reply "
    "records without __init__ (its lazily made body included): see bench/bench_tarantool.py",
}

#: Attribute names that are public API of other libraries despite the underscore.
PUBLIC_ELSEWHERE = {
    "_replace", "_asdict", "_fields", "_make",  # namedtuple
    "_value_", "_name_", "_missing_", "_generate_next_value_",  # enum
}


def _defined_privates(tree: ast.Module) -> set[str]:
    """Private names a class of this module defines: methods, class attributes,
    ``self._x`` assignments, ``__slots__`` entries."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in ast.walk(node):
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(item.name)
                elif isinstance(item, ast.Attribute) and isinstance(item.ctx, ast.Store):
                    if isinstance(item.value, ast.Name) and item.value.id in ("self", "cls"):
                        names.add(item.attr)
                elif isinstance(item, (ast.Assign, ast.AnnAssign)):
                    targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                    for target in targets:
                        if isinstance(target, ast.Name):
                            names.add(target.id)
                            if target.id == "__slots__" and item.value is not None:
                                for const in ast.walk(item.value):
                                    if isinstance(const, ast.Constant) and isinstance(
                                        const.value, str
                                    ):
                                        names.add(const.value)
    return {n for n in names if _private(n)}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _may_import(path: Path, node: ast.ImportFrom, name: str) -> bool:
    """A private name may come from a module of the importer's own package (a
    package split from one module shares its internals), from a private module
    of an enclosing package, or be a private module itself."""
    if node.level == 0:
        return False  # another distribution's private name: see ALLOWED
    package = path.parent
    for _ in range(node.level - 1):
        package = package.parent
    source = package.joinpath(*(node.module or "").split(".")) if node.module else package
    if (source / f"{name}.py").exists() or (source / name / "__init__.py").exists():
        return True  # ``from . import _private_module``
    if source == path.parent or source.parent == path.parent:
        return True  # a sibling module (or subpackage) of the same package
    return source.name.startswith("_") and path.is_relative_to(source.parent)


def violations(root: Path = PACKAGE) -> list[str]:
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        module = str(path.relative_to(root.parent))
        tree = ast.parse(path.read_text(), filename=module)
        own = _defined_privates(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr):
                value = node.value
                if isinstance(value, ast.Name) and value.id in ("self", "cls"):
                    continue
                if node.attr in own or node.attr in PUBLIC_ELSEWHERE:
                    continue
                if (module, node.attr) in ALLOWED:
                    continue
                found.append(f"{module}:{node.lineno}: .{node.attr} on {ast.unparse(value)}")
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if (_private(alias.name) and (module, alias.name) not in ALLOWED
                            and not _may_import(path, node, alias.name)):
                        found.append(f"{module}:{node.lineno}: imports {alias.name} "
                                     f"from {'.' * node.level}{node.module or ''}")
    return found


def test_no_module_reads_another_modules_private_names() -> None:
    assert violations() == []


def test_the_rule_tells_a_reach_in_from_a_module_of_its_own() -> None:
    source = (
        "class Mine:\n"
        "    __slots__ = ('_slot',)\n"
        "    def __init__(self):\n"
        "        self._mine = 1\n"
        "    def _helper(self):\n"
        "        pass\n"
        "    def peer(self, other):\n"
        "        return other._mine + other._slot + other._helper() + other.pool._out\n"
    )
    own = _defined_privates(ast.parse(source))
    assert own == {"_mine", "_slot", "_helper"}  # so only other.pool._out is a reach-in


def test_the_rule_finds_reach_ins(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "base.py").write_text("class Base:\n    def _hook(self):\n        pass\n")
    (package / "_inner.py").write_text("_SHARED = 1\n")
    (package / "sub" / "mod.py").write_text(
        "from ..base import _hidden\n"       # a private name from another package
        "from .._inner import _SHARED\n"     # a private module of an enclosing package: fine
        "from . import _private_module\n"    # fine
        "def use(pool):\n"
        "    return pool._hook()\n"          # another module's private method
    )
    (package / "sub" / "_private_module.py").write_text("")
    assert violations(package) == [
        "pkg/sub/mod.py:1: imports _hidden from ..base",
        "pkg/sub/mod.py:5: ._hook on pool",
    ]


def test_every_allowance_is_still_needed() -> None:
    used: set[tuple[str, str]] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        module = str(path.relative_to(PACKAGE.parent))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):
                used.add((module, node.attr))
            elif isinstance(node, ast.ImportFrom):
                used.update((module, alias.name) for alias in node.names)
    assert set(ALLOWED) <= used, set(ALLOWED) - used
