"""Every action the code records is an AuditAction, so the audit screen's filter can select it.

Both sides are read from the source with `ast` (core.audit itself imports SQLAlchemy, which unit
tests stay clear of): the members of `AuditAction` in core/audit.py, and every string literal a
`audit.record(...)` call can pass as its action (third argument or `action=`, both branches of a
conditional expression included)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIPPED = {".venv", "tests", "migrations", "node_modules", ".git"}


def _sources() -> Iterator[Path]:
    for path in ROOT.rglob("*.py"):
        if not SKIPPED & set(path.relative_to(ROOT).parts):
            yield path


def _is_audit_record(call: ast.Call, path: Path) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr == "record" and isinstance(func.value, ast.Name) and func.value.id == "audit"
    return isinstance(func, ast.Name) and func.id == "record" and path == ROOT / "core" / "audit.py"


def _action_argument(call: ast.Call) -> ast.expr | None:
    given = [k.value for k in call.keywords if k.arg == "action"]
    return given[0] if given else (call.args[2] if len(call.args) > 2 else None)


def recorded_actions() -> dict[str, str]:
    """Action string → where it is recorded."""
    found = {}
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _is_audit_record(node, path):
                argument = _action_argument(node)
                assert argument is not None, f"{path}:{node.lineno}: record() without an action"
                for literal in ast.walk(argument):
                    if isinstance(literal, ast.Constant) and isinstance(literal.value, str):
                        found[literal.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def audit_action_members() -> dict[str, str]:
    """AuditAction's members as written in core/audit.py: value → name."""
    tree = ast.parse((ROOT / "core" / "audit.py").read_text(encoding="utf-8"))
    [enum] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "AuditAction"]
    return {
        s.value.value: s.targets[0].id
        for s in enum.body
        if isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant) and isinstance(s.targets[0], ast.Name)
    }


def test_every_recorded_action_is_an_audit_action() -> None:
    recorded, members = recorded_actions(), audit_action_members()
    missing = {action: where for action, where in recorded.items() if action not in members}
    assert missing == {}


def test_the_scan_finds_actions_of_every_area() -> None:
    """Guards the scan itself: pages, sign-ins, admin, experiments, audiences, campaigns and shoppers."""
    recorded = recorded_actions()
    for action in ("save", "sign_in_failed", "token_revoked", "experiment_shipped", "audience_deleted",
                   "campaign_resumed", "shopper_erased"):  # fmt: skip
        assert action in recorded, action
    assert len(recorded) >= 23


def test_audit_action_names_are_their_values_upper_cased() -> None:
    assert all(name == value.upper() for value, name in audit_action_members().items())
