"""Pure by default: every production module imports no Flask, SQLAlchemy, Alembic, httpx or Redis,
directly or through another project module, unless it is a declared edge (STYLE.md: pure logic
apart from I/O).

The modules come from the code (an AST scan of every production package), so a new module is
guarded the day it is written, and a pure core that starts importing Flask fails here until
someone consciously declares it an edge below. The edge list is kept exact in both directions:
a declared edge that no longer does I/O fails too, so it rejoins the guarded set.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IO_FRAMEWORKS = frozenset({"flask", "werkzeug", "sqlalchemy", "alembic", "httpx", "redis"})
# Not production code: benchmarks, tests, and Alembic's own scripts.
NOT_PRODUCTION = frozenset({"bench", "tests", "migrations"})

# The modules allowed to reach an I/O framework: blueprints, services, tables, CLIs, transports.
EDGES = frozenset(
    {
        "app",
        "catalog.models",
        "catalog.store",
        "config_ui.access",
        "config_ui.admin_views",
        "config_ui.audit_contract",
        "config_ui.audience_views",
        "config_ui.audit_views",
        "config_ui.auth_views",
        "config_ui.campaign_views",
        "config_ui.editor_views",
        "config_ui.experiment_views",
        "config_ui.history_views",
        "config_ui.htmx",
        "config_ui.page_views",
        "config_ui.views",
        "core.api_docs",
        "core.audit",
        "core.auth",
        "core.cache",
        "core.published_state",
        "core.rate_limits",
        "core.state_share",
        "core.state_version",
        "core.cli",
        "core.csrf",
        "core.db",
        "core.security_headers",
        "core.services",
        "core.http_errors",
        "core.throttle",
        "core.users",
        "core.web",
        "demo.cli",
        "demo.experiments",
        "demo.seed",
        "demo.targeting",
        "experiments.analysis",
        "experiments.analysis_pool",
        "experiments.analytics_api",
        "experiments.api",
        "experiments.chooser",
        "experiments.cli",
        "experiments.exposures",
        "experiments.models",
        "experiments.service",
        "layout_engine.api",
        "layout_engine.audience_service",
        "layout_engine.campaign_service",
        "layout_engine.drafts",
        "layout_engine.models",
        "layout_engine.pages",
        "layout_engine.published_snapshot",
        "storefront.event_spool",
        "storefront.resolve_edge",
        "layout_engine.resolver_wiring",
        "layout_engine.shopper_source",
        "layout_engine.targeting_api",
        "personalization_client.client",
        "personalization_client.transports",
        "recommender.__main__",
        "recommender.service",
        "shoppers.cli",
        "shoppers.ingest",
        "shoppers.models",
        "shoppers.service",
        "storefront.api",
        "storefront.contract",
    }
)


def production_modules() -> dict[str, Path]:
    """Every importable module of every top-level production package, plus top-level modules."""
    # gunicorn.conf.py is gunicorn's settings file, read by gunicorn; it is no module of ours.
    modules = {path.stem: path for path in ROOT.glob("*.py") if path.name != "gunicorn.conf.py"}
    for init in sorted(ROOT.glob("*/__init__.py")):
        package = init.parent
        if package.name in NOT_PRODUCTION:
            continue
        for path in package.rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


MODULES = production_modules()


@cache
def direct_imports(module: str) -> frozenset[str]:
    """Dotted names a module imports anywhere in its body (a lazy import is still a dependency)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return frozenset(names)


def io_frameworks_reached(module: str) -> frozenset[str]:
    """The I/O frameworks a module reaches through its own and its project imports' imports."""
    reached: set[str] = set()
    todo, seen = [module], {module}
    while todo:
        for name in direct_imports(todo.pop()):
            parts = name.split(".")
            if parts[0] in IO_FRAMEWORKS:
                reached.add(parts[0])
            # Importing a.b.c runs a/__init__, a/b/__init__ and a/b/c.
            for project_module in {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & MODULES.keys() - seen:
                seen.add(project_module)
                todo.append(project_module)
    return frozenset(reached)


PURE = sorted(set(MODULES) - EDGES)


def test_the_scan_finds_the_known_pure_cores() -> None:
    """A broken scan must not pass by finding nothing: STYLE.md's named cores are in the guarded set."""
    assert {"layout_engine.resolve", "experiments.assignment", "experiments.stats", "slots.postfilters"} <= set(PURE)
    assert {"core.errors", "experiments.planner"} <= set(PURE)


@pytest.mark.parametrize("module", PURE)
def test_module_reaches_no_io_framework(module: str) -> None:
    reached = io_frameworks_reached(module)
    assert not reached, f"{module} reaches {sorted(reached)}: keep it pure, or declare it in EDGES"


@pytest.mark.parametrize("module", sorted(EDGES))
def test_declared_edge_is_a_real_module_that_does_io(module: str) -> None:
    assert module in MODULES, f"{module} is declared an edge but no longer exists"
    assert io_frameworks_reached(module), f"{module} is pure now: remove it from EDGES so it is guarded"


def test_importing_every_pure_module_loads_no_io_framework() -> None:
    """The runtime check behind the scan: catches imports an AST cannot see (importlib, plugins)."""
    code = (
        "import importlib, sys\n"
        f"for name in {PURE!r}: importlib.import_module(name)\n"
        f"print(','.join(sorted(m for m in {sorted(IO_FRAMEWORKS)!r} if m in sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == ""
