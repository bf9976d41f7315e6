"""`flask --app app experiments results KEY`: an experiment's results as a table."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from core.web import services
from experiments.analysis import results


@click.group("experiments")
def experiments_cli() -> None:
    """Experiments."""


@experiments_cli.command("results")
@click.argument("key")
@with_appcontext
def results_command(key: str) -> None:
    """Per-variant statistics and, per metric, lift with its 95% CI and p-values (raw and Holm-adjusted)."""
    with services().db.session() as session:
        report = results(session, key, with_timeline=False)
    click.echo(f"Experiment {key} ({report['experiment']['status']})")
    click.echo(f"{'variant':<14}{'users':>9}{'converters':>12}{'orders':>9}{'revenue':>12}")
    for v in report["variants"]:
        click.echo(f"{v['key']:<14}{v['users']:>9}{v['converters']:>12}{v['orders']:>9.0f}{v['revenue']:>12.2f}")
    click.echo(f"\n{'variant':<14}{'metric':<21}{'control':>10}{'variant':>10}{'rel. lift':>11}{'95% CI':>20}"
               f"{'p':>9}{'p (Holm)':>10}")  # fmt: skip
    for m in report["metrics"]:
        click.echo(_metric_line(m))
    click.echo("")
    for m in report["metrics"]:
        click.echo(f"{'*' if m['is_significant'] else '-'} [{m['role']}] {m['summary']}")
    for warning in report["guardrails"]:
        click.echo(f"! {warning['message']}")
    srm = report["srm"]
    if srm["p_value"] is not None:
        warning = "  SAMPLE RATIO MISMATCH: do not trust these results" if srm["is_mismatch"] else ""
        click.echo(f"\nSample ratio check p = {srm['p_value']:.4f}{warning}")
    click.echo(f"p-values adjusted for {len(report['metrics'])} comparisons ({report['correction']}); "
               f"* = significant at alpha {report['alpha']}")  # fmt: skip


def _metric_line(m: dict) -> str:  # type: ignore[type-arg]
    def num(value: float | None, pattern: str) -> str:
        return "—" if value is None else format(value, pattern)

    ci = m["rel_ci"]
    interval = "—" if ci is None else f"[{ci[0]:+.1%}, {ci[1]:+.1%}]"
    line = (f"{m['variant']:<14}{m['metric']:<21}{num(m['control'], '.4f'):>10}{num(m['treatment'], '.4f'):>10}"
            f"{num(m['rel_lift'], '+.1%'):>11}{interval:>20}{num(m['p_value'], '.4f'):>9}"
            f"{num(m['adjusted_p_value'], '.4f'):>10}")  # fmt: skip
    return line + (f"  ({m['error']})" if m["error"] else "")
