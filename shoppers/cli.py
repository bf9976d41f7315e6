"""`flask --app app shoppers ...`: profiles and the recommender's training data."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from core.db import utcnow
from core.web import services, unit_of_work
from shoppers import service
from shoppers.erasure_digest import ShopperDigest


@click.group("shoppers")
def shoppers_cli() -> None:
    """Shopper profiles, and training data that honours opt-outs and erasures."""


@shoppers_cli.command("rebuild-profiles")
@with_appcontext
def rebuild_command() -> None:
    """Rebuild every profile from the stored events and purchase history (after a bulk import).
    It reads the whole history at once and replaces every profile: run it while no events arrive."""
    with unit_of_work() as session:
        count = service.rebuild_profiles(session, utcnow())
    click.echo(f"Rebuilt {count} shopper profiles.")


@shoppers_cli.command("export-training")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def export_command(directory: Path | None) -> None:
    """Write interactions.csv for the built-in recommender, without erased or opted-out shoppers."""
    target = directory or services().settings.data_path
    with services().db.session() as session:
        rows = service.export_training_data(session, target, services().get(ShopperDigest))
    click.echo(f"Wrote {rows} interactions to {target / 'interactions.csv'}.")


@shoppers_cli.command("retrain")
@click.pass_context
@with_appcontext
def retrain_command(context: click.Context) -> None:
    """Export the training data, then train the built-in recommender on it: the way to make
    an erasure reach the model (the running model keeps what it learned until then)."""
    from recommender.__main__ import train_command

    settings = services().settings
    with services().db.session() as session:
        rows = service.export_training_data(session, settings.data_path, services().get(ShopperDigest))
    click.echo(f"Exported {rows} interactions (erased and opted-out shoppers left out).")
    settings.resolved_model_path.parent.mkdir(parents=True, exist_ok=True)
    context.invoke(train_command, data_dir=settings.data_path, model_path=settings.resolved_model_path,
                   half_life_days=14.0)  # fmt: skip
