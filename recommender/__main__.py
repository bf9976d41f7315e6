"""Command line: `python -m recommender train | evaluate | serve`.

Demo data to train on comes from `python -m demo generate`: the recommender never imports the demo.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import click

from recommender.data import read_dataset
from recommender.evaluate import METRICS, evaluate
from recommender.model import TRAIN_STEPS, train
from recommender.service import DEFAULT_MODEL

_data_option = click.option(
    "--data", "data_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
    help="Directory with catalog.jsonl and interactions.csv.",
)  # fmt: skip


@click.group()
def cli() -> None:
    """Tessera's built-in reference recommender."""


@cli.command("train")
@_data_option
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_MODEL,
              show_default=True, help="Where to write the trained model (.npz).")  # fmt: skip
@click.option("--half-life-days", type=float, default=14.0, show_default=True)
def train_command(data_dir: Path, model_path: Path, half_life_days: float) -> None:
    """Train a model from DATA and save it."""
    started = time.perf_counter()
    items, events = read_dataset(data_dir)
    now = max((event.occurred_at for event in events), default=datetime.now(UTC))
    with click.progressbar(length=TRAIN_STEPS, label="Training") as bar:
        model = train(items, events, now, half_life_days=half_life_days, progress=bar.update)
    model.save(model_path)
    click.echo(
        f"Trained on {len(items)} items, {len(events)} events, {len(model.user_ids)} shoppers "
        f"in {time.perf_counter() - started:.2f} s.\nModel {model.version} written to {model_path}"
    )


@cli.command("evaluate")
@_data_option
@click.option("--holdout-days", type=float, default=14.0, show_default=True)
@click.option("-k", "k", type=click.IntRange(1, 100), default=10, show_default=True)
def evaluate_command(data_dir: Path, holdout_days: float, k: int) -> None:
    """Compare personalized with popular on a time split of DATA."""
    items, events = read_dataset(data_dir)
    report = evaluate(items, events, holdout_days=holdout_days, k=k)
    click.echo(
        f"Trained before {report.cutoff:%Y-%m-%d %H:%M} UTC on {report.n_train_events} events; "
        f"{report.n_test_shoppers} shoppers bought in the last {holdout_days:g} days "
        f"({report.n_cold_shoppers} new)."
    )
    click.echo(f"{'metric':<14}{'personalized':>14}{'popular':>10}{'lift':>9}")
    for metric in METRICS:
        ours, base = getattr(report.personalized, metric), getattr(report.popular, metric)
        click.echo(f"{f'{metric}@{k}':<14}{ours:>14.4f}{base:>10.4f}{report.lift(metric):>+9.0%}")


@cli.command("serve")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8100, show_default=True)
def serve_command(model_path: Path | None, host: str, port: int) -> None:
    """Run the HTTP service with Flask's development server (use gunicorn in production)."""
    from recommender.service import create_app

    create_app(model_path).run(host=host, port=port)


if __name__ == "__main__":
    cli()
