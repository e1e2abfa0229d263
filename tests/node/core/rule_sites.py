"""A static scan of the product source for every rule id it can raise (AST, not text search).

Used by ``tests/node/core/test_rule_ids.py`` to hold the catalogue of ``node/core/rules/ids.py``
to the code. What counts as raising an id:

- **refusals** (role ``rule``): the ``rule`` argument of any function or class defined in the
  product packages with a parameter named ``rule`` — ``InvalidInput``, ``InvalidRow``, the API's
  ``Problem`` and ``problem``, and every private helper that forwards a rule (``_CellError``,
  ``_integer``, ``_forbidden`` …) — found by signature, so a new helper is scanned without being
  listed here; and the ``rule=`` evidence of an audit finding;
- **audit findings** (role ``finding``): the first argument of ``Finding(...)`` and of the
  auditor's finding sinks (``self.findings(...)``, ``self.report(...)``) in ``audit``;
- **screening flags** (role ``flag``): the first argument of ``Flag(...)`` in
  ``node.core.rules``.

An argument is resolved to the set of strings it can take: a literal; an f-string over
resolvable parts; a module constant (also through ``from … import``); a local assigned only
resolvable values; or a parameter of an enclosing function, resolved at every call of that
function (so ``_check_text("holder_name", …)`` makes ``f"{field}.empty"`` ``holder_name.empty``).
``exc.rule`` and a parameter with the sink's own name (``rule`` in a helper) forward an id
raised elsewhere and are not counted again. An f-string with a part the scan cannot follow is a
*family pattern* (``f"request.{kind}"`` is ``request.*``). Anything else is reported as
unresolved, with its file and line, so that a rule id computed in a way this scan cannot follow
fails the test instead of slipping past it.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Final

PRODUCT_PACKAGES: Final = ("node", "anchor", "audit", "province", "api", "certreg")

Function = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
_FUNCTIONS: Final = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)

#: Attribute calls that are the auditor's finding sinks, ``(kind, province, message, **evidence)``:
#: module (or package) of the call and the attribute called.
FINDING_SINK_ATTRIBUTES: Final = frozenset(
    {("audit", "findings"), ("audit", "_findings"), ("audit.node_api", "report")}
)
#: Plain calls of a finding sink passed in as an argument (``findings(...)``, a
#: ``FindingSink``), by package.
FINDING_SINK_NAMES: Final = frozenset({("audit", "findings")})


@dataclasses.dataclass(frozen=True)
class Site:
    """One place an id is raised: the ids it can raise there and their role."""

    path: str
    line: int
    role: str
    ids: frozenset[str]


@dataclasses.dataclass(frozen=True)
class Unresolved:
    """An id argument the scan cannot follow."""

    path: str
    line: int
    role: str
    source: str


class _Forwarded(Exception):
    """The expression forwards an id raised (and scanned) elsewhere."""


class _CannotResolve(Exception):
    pass


@dataclasses.dataclass
class _Sink:
    """A callable whose argument ``param`` (position ``index`` or keyword) is an id."""

    node: ast.AST
    param: str
    index: int | None
    role: str


class Module:
    """One parsed module with the scopes the resolver needs."""

    def __init__(self, name: str, path: Path, root: Path) -> None:
        self.name = name
        self.path = path.relative_to(root).as_posix()
        self.tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        self.parents: dict[ast.AST, ast.AST] = {}
        for parent in ast.walk(self.tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent
        self.imports: dict[str, tuple[str, str]] = {}
        self.constants: dict[str, ast.expr] = {}
        for statement in self.tree.body:
            if isinstance(statement, ast.ImportFrom) and statement.module and statement.level == 0:
                for alias in statement.names:
                    self.imports[alias.asname or alias.name] = (statement.module, alias.name)
            elif isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target = statement.targets[0]
                if isinstance(target, ast.Name):
                    self.constants[target.id] = statement.value
            elif (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and statement.value is not None
            ):
                self.constants[statement.target.id] = statement.value

    def enclosing(self, node: ast.AST) -> Iterator[ast.AST]:
        """The functions and classes around ``node``, innermost first."""
        current = self.parents.get(node)
        while current is not None:
            if isinstance(current, (*_FUNCTIONS, ast.ClassDef)):
                yield current
            current = self.parents.get(current)

    def definitions(self, name: str, at: ast.AST) -> list[ast.AST]:
        """Functions and classes named ``name`` visible from ``at``: in an enclosing function's
        body, else at module level."""
        for scope in itertools.chain(
            (s for s in self.enclosing(at) if not isinstance(s, ast.ClassDef)), [self.tree]
        ):
            body = getattr(scope, "body", [])
            found = [
                node
                for node in (body if isinstance(body, list) else [])
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and node.name == name
            ]
            if found:
                return found
        return []


def _parameters(function: Function) -> list[str]:
    args = function.args
    names = [a.arg for a in (*args.posonlyargs, *args.args)]
    return names


def _all_parameters(function: Function) -> list[str]:
    args = function.args
    return [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]


def _signature(node: ast.AST) -> tuple[list[str], list[str]] | None:
    """Positional parameters (``self`` dropped for a class's ``__init__``) and all parameters."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        positional = _parameters(node)
        if positional and positional[0] in ("self", "cls"):
            positional = positional[1:]
        return positional, _all_parameters(node)
    if isinstance(node, ast.ClassDef):
        init = next(
            (n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"),
            None,
        )
        if init is None:
            # A dataclass: its fields in order.
            fields = [
                n.target.id
                for n in node.body
                if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
            ]
            return (fields, fields) if fields else None
        return _parameters(init)[1:], _all_parameters(init)
    return None


class Scan:
    """Every module of the product packages under ``root``, and what they raise."""

    def __init__(self, root: Path, packages: tuple[str, ...] = PRODUCT_PACKAGES) -> None:
        self.root = root
        self.modules: dict[str, Module] = {}
        for package in packages:
            for path in sorted((root / package).rglob("*.py")):
                parts = path.relative_to(root).with_suffix("").parts
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                name = ".".join(parts)
                self.modules[name] = Module(name, path, root)
        self.sinks: dict[tuple[str, ast.AST], _Sink] = {}
        for module in self.modules.values():
            for node in ast.walk(module.tree):
                signature = _signature(node)
                if signature is None:
                    continue
                positional, everything = signature
                if "rule" in everything:
                    index = positional.index("rule") if "rule" in positional else None
                    self.sinks[(module.name, node)] = _Sink(node, "rule", index, "rule")
                named = getattr(node, "name", None)
                if module.name == "audit.findings" and named == "Finding":
                    self.sinks[(module.name, node)] = _Sink(node, "kind", 0, "finding")
                if module.name.startswith("node.core.rules") and named == "Flag":
                    self.sinks[(module.name, node)] = _Sink(node, "code", 0, "flag")
        self._inherit_sinks()

    def _inherit_sinks(self) -> None:
        """A class without a constructor of its own raises as its base does (``class
        AccessDenied(InvalidInput)``): it is a sink of the same kind."""
        changed = True
        while changed:
            changed = False
            for module in self.modules.values():
                for node in ast.walk(module.tree):
                    if not isinstance(node, ast.ClassDef) or (module.name, node) in self.sinks:
                        continue
                    if any(
                        isinstance(item, ast.FunctionDef) and item.name == "__init__"
                        for item in node.body
                    ):
                        continue
                    for base in node.bases:
                        if not isinstance(base, ast.Name):
                            continue
                        for target_module, target in self._resolve_name_to_definition(
                            module, base.id, node
                        ):
                            sink = self.sinks.get((target_module.name, target))
                            if sink is not None:
                                self.sinks[(module.name, node)] = dataclasses.replace(
                                    sink, node=node
                                )
                                changed = True
                                break
                        if (module.name, node) in self.sinks:
                            break

    # -- resolving names to definitions ----------------------------------------------------

    def _resolve_callee(self, module: Module, call: ast.Call) -> list[tuple[Module, ast.AST]]:
        func = call.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            # ``safejson.loads(...)`` where ``from node.core import safejson``: a function of
            # an imported module.
            imported = module.imports.get(func.value.id)
            if imported is not None:
                target = self.modules.get(f"{imported[0]}.{imported[1]}")
                if target is not None:
                    return self._resolve_name_to_definition(target, func.attr, target.tree)
            return []
        if not isinstance(func, ast.Name):
            return []
        return self._resolve_name_to_definition(module, func.id, call)

    def _resolve_name_to_definition(
        self, module: Module, name: str, at: ast.AST
    ) -> list[tuple[Module, ast.AST]]:
        found = module.definitions(name, at)
        if found:
            return [(module, node) for node in found]
        if name in module.imports:
            source, original = module.imports[name]
            target = self.modules.get(source)
            if target is not None:
                return self._resolve_name_to_definition(target, original, target.tree)
        return []

    @cached_property
    def _calls(self) -> list[tuple[Module, ast.Call, list[tuple[Module, ast.AST]]]]:
        calls = []
        for module in self.modules.values():
            for node in ast.walk(module.tree):
                if isinstance(node, ast.Call):
                    calls.append((module, node, self._resolve_callee(module, node)))
        return calls

    def _calls_of(self, function: ast.AST) -> list[tuple[Module, ast.Call]]:
        return [
            (module, call)
            for module, call, targets in self._calls
            if any(node is function for _, node in targets)
        ]

    # -- resolving expressions to strings --------------------------------------------------

    def resolve(
        self, module: Module, expr: ast.expr, own: str, seen: frozenset[int] = frozenset()
    ) -> frozenset[str]:
        """The strings ``expr`` can be; ``own`` is the sink's parameter name (forwarding)."""
        if id(expr) in seen:
            raise _CannotResolve("recursive")
        seen = seen | {id(expr)}
        if isinstance(expr, ast.Constant):
            if isinstance(expr.value, str):
                return frozenset({expr.value})
            if expr.value is None:
                return frozenset()
            raise _CannotResolve("not a string")
        if isinstance(expr, ast.JoinedStr):
            parts: list[frozenset[str]] = []
            for value in expr.values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    parts.append(frozenset({value.value}))
                elif (
                    isinstance(value, ast.FormattedValue)
                    and value.conversion == -1
                    and value.format_spec is None
                ):
                    parts.append(self.resolve(module, value.value, own, seen))
                else:
                    raise _CannotResolve("formatted value")
            return frozenset("".join(p) for p in itertools.product(*parts))
        if isinstance(expr, ast.BoolOp):
            values: set[str] = set()
            forwarded = False
            for operand in expr.values:
                try:
                    values |= self.resolve(module, operand, own, seen)
                except _Forwarded:
                    forwarded = True
            values.discard("")
            if forwarded and not values:
                raise _Forwarded
            return frozenset(values)
        if isinstance(expr, ast.Attribute) and expr.attr == own:
            raise _Forwarded  # exc.rule: an id raised and scanned where exc was made
        if isinstance(expr, ast.Name):
            return self._resolve_name(module, expr.id, expr, own, seen)
        raise _CannotResolve(type(expr).__name__)

    def _resolve_name(
        self, module: Module, name: str, at: ast.AST, own: str, seen: frozenset[int]
    ) -> frozenset[str]:
        for scope in module.enclosing(at):
            if isinstance(scope, ast.ClassDef):
                continue
            if name in _all_parameters(scope):
                if name == own:
                    raise _Forwarded  # a helper's own ``rule``: scanned at the helper's calls
                return self._resolve_parameter(module, scope, name, own, seen)
            assigned = [
                node
                for node in ast.walk(scope)
                if isinstance(node, (ast.Assign, ast.AnnAssign, ast.For, ast.comprehension))
                and any(
                    isinstance(t, ast.Name) and t.id == name
                    for t in ast.walk(
                        node.target if not isinstance(node, ast.Assign) else node.targets[0]
                    )
                )
            ]
            if assigned:
                values: set[str] = set()
                for node in assigned:
                    single = (
                        isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                    ) or isinstance(node, ast.AnnAssign)
                    value = getattr(node, "value", None)
                    if not single or value is None:
                        raise _CannotResolve(f"{name} is a loop or unpacking target")
                    values |= self.resolve(module, value, own, seen)
                return frozenset(values)
        if name in module.constants:
            return self.resolve(module, module.constants[name], own, seen)
        if name in module.imports:
            source, original = module.imports[name]
            target = self.modules.get(source)
            if target is not None:
                return target_resolve(self, target, original, own, seen)
        raise _CannotResolve(f"name {name}")

    def _resolve_parameter(
        self, module: Module, function: Function, name: str, own: str, seen: frozenset[int]
    ) -> frozenset[str]:
        if isinstance(function, ast.Lambda):
            raise _CannotResolve("lambda parameter")
        positional = _parameters(function)
        index = positional.index(name) if name in positional else None
        defaults = dict(
            zip(
                positional[len(positional) - len(function.args.defaults) :],
                function.args.defaults,
                strict=True,
            )
        )
        for arg, default in zip(function.args.kwonlyargs, function.args.kw_defaults, strict=True):
            if default is not None:
                defaults[arg.arg] = default
        calls = self._calls_of(function)
        if not calls:
            raise _CannotResolve(f"no call of {function.name} passes {name}")
        values: set[str] = set()
        for caller, call in calls:
            argument = _argument(call, name, index)
            if argument is None:
                if name not in defaults:
                    raise _CannotResolve(f"a call of {function.name} leaves {name} out")
                values |= self.resolve(module, defaults[name], own, seen)
            else:
                values |= self.resolve(caller, argument, own, seen)
        return frozenset(values)

    # -- the sites -------------------------------------------------------------------------

    def sites(self) -> tuple[list[Site], list[Unresolved]]:
        """Every id-raising call and every argument the scan could not resolve."""
        sites: list[Site] = []
        unresolved: list[Unresolved] = []
        for module, call, targets in self._calls:
            for role, own, argument in self._id_arguments(module, call, targets):
                try:
                    ids = self.resolve(module, argument, own)
                except _Forwarded:
                    continue
                except _CannotResolve:
                    pattern = self._pattern(module, argument, own)
                    if pattern is None:
                        unresolved.append(
                            Unresolved(module.path, call.lineno, role, ast.unparse(argument))
                        )
                        continue
                    ids = frozenset({pattern})
                if ids:
                    sites.append(Site(module.path, call.lineno, role, ids))
        return sites, unresolved

    def _pattern(self, module: Module, expr: ast.expr, own: str) -> str | None:
        """An f-string with parts the scan cannot follow as a family pattern, each such part
        ``*`` (``f"request.{kind}"`` → ``request.*``); None for anything else."""
        if not isinstance(expr, ast.JoinedStr):
            return None
        parts = []
        for value in expr.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
                continue
            assert isinstance(value, ast.FormattedValue)
            try:
                resolved = self.resolve(module, value.value, own)
            except (_CannotResolve, _Forwarded):
                parts.append("*")
                continue
            if len(resolved) != 1:
                return None
            parts.append(next(iter(resolved)))
        return "".join(parts)

    def _id_arguments(
        self, module: Module, call: ast.Call, targets: list[tuple[Module, ast.AST]]
    ) -> Iterator[tuple[str, str, ast.expr]]:
        for target_module, node in targets:
            sink = self.sinks.get((target_module.name, node))
            if sink is None:
                continue
            if any(isinstance(a, ast.Starred) for a in call.args):
                continue  # InvalidRow(*packed): an error rebuilt from its own fields
            argument = _argument(call, sink.param, sink.index)
            if argument is not None:
                yield sink.role, sink.param, argument
            return
        if call.args and (
            (
                isinstance(call.func, ast.Attribute)
                and any(
                    (module.name == where or module.name.startswith(where + "."))
                    and call.func.attr == attribute
                    for where, attribute in FINDING_SINK_ATTRIBUTES
                )
            )
            or (
                isinstance(call.func, ast.Name)
                and any(
                    (module.name == where or module.name.startswith(where + "."))
                    and call.func.id == name
                    for where, name in FINDING_SINK_NAMES
                )
            )
        ):
            yield "finding", "kind", call.args[0]
            for keyword in call.keywords:
                if keyword.arg == "rule":
                    yield "rule", "rule", keyword.value


def target_resolve(
    scan: Scan, module: Module, name: str, own: str, seen: frozenset[int]
) -> frozenset[str]:
    """Resolve a module-level name of ``module``."""
    if name in module.constants:
        return scan.resolve(module, module.constants[name], own, seen)
    if name in module.imports:
        source, original = module.imports[name]
        target = scan.modules.get(source)
        if target is not None:
            return target_resolve(scan, target, original, own, seen)
    raise _CannotResolve(f"name {name} of {module.name}")


def _argument(call: ast.Call, name: str, index: int | None) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    if index is not None and index < len(call.args):
        return call.args[index]
    return None
