"""A contract type for import-linter (`[tool.importlinter]` in pyproject.toml, run by
`make check`): no import circle between any two modules of a package, wherever they sit.

import-linter's own `acyclic_siblings` looks at packages (a circle between two packages
through different modules counts); this one looks at modules, so it also holds where
sub-packages lean on each other by design, and it names each circle module by module.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


class NoImportCirclesContract(Contract):
    """Options: `packages`, the packages whose modules must import one another without
    a circle (imports through modules outside them count too)."""

    type_name = "no_import_circles"

    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        roots: list[str] = list(self.packages)  # type: ignore[call-overload]
        inside = {m for m in graph.modules if any(_within(m, root) for root in roots)}
        circles = [
            _one_circle(graph, component)
            for component in _strongly_connected(graph, graph.modules)
            if len(component) > 1 and inside & component
        ]
        output.verbose_print(verbose, f"{len(circles)} import circle(s) found.")
        return ContractCheck(kept=not circles, metadata={"circles": sorted(circles)})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for circle in check.metadata["circles"]:
            output.print_error(f"Import circle of {len(circle) - 1} modules:")
            output.new_line()
            for importer, imported in itertools.pairwise(circle):
                output.indent_cursor()
                output.print_error(f"{importer} -> {imported}")
            output.new_line()


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _strongly_connected(graph: ImportGraph, modules: Iterable[str]) -> Iterator[set[str]]:
    """Tarjan's algorithm, without recursion: each set of modules that import one another."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for start in sorted(modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, imports = work[-1]
            for imported in imports:
                if imported not in index:
                    index[imported] = low[imported] = len(index)
                    stack.append(imported)
                    on_stack.add(imported)
                    children = sorted(graph.find_modules_directly_imported_by(imported))
                    work.append((imported, iter(children)))
                    break
                if imported in on_stack:
                    low[module] = min(low[module], index[imported])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[module])
                if low[module] == index[module]:
                    component: set[str] = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == module:
                            break
                    yield component


def _one_circle(graph: ImportGraph, component: set[str]) -> tuple[str, ...]:
    """A shortest circle through the first module of `component`: a, b, ..., a."""
    first = min(component)
    best: tuple[str, ...] | None = None
    for imported in sorted(graph.find_modules_directly_imported_by(first) & component):
        back = graph.find_shortest_chain(importer=imported, imported=first)
        if back is not None and (best is None or len(back) + 1 < len(best)):
            best = (first, *back)
    assert best is not None, component
    return best
