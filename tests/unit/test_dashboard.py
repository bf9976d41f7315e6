"""The Grafana dashboard in deploy/ charts only metrics Tessera exports, and every metric it exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram

from core import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana-tessera.json"
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def exported() -> set[str]:
    found = set()
    for value in vars(metrics).values():
        if isinstance(value, Counter | Gauge | Histogram):
            found.add(value._name)  # noqa: SLF001 - the metric's base name
    return found


def charted() -> set[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    names = set()
    for panel in panels:
        for target in panel["targets"]:
            for name in re.findall(r"\btessera_[a-z_]+", target["expr"]):
                for suffix in SUFFIXES:
                    if name.endswith(suffix) and name.removesuffix(suffix) in exported():
                        name = name.removesuffix(suffix)
                names.add(name)
    return names


def test_the_dashboard_charts_exactly_the_exported_metrics() -> None:
    assert charted() == exported()
