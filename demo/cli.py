"""`flask --app app demo seed`: fill an empty installation with the demo store."""

from __future__ import annotations

import secrets
from pathlib import Path

import click
from flask.cli import with_appcontext

from core.auth import create_token
from core.private_files import tighten
from core.users import create_user
from core.web import services, unit_of_work
from demo.seed import has_catalog, is_seeded, seed

DEMO_ADMIN = "admin@example.com"


@click.group("demo")
def demo_cli() -> None:
    """The demo gift-card store."""


@demo_cli.command("seed")
@click.option("--shoppers", default=5000, show_default=True, help="How many demo shoppers to generate.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when pages already exist.")
@with_appcontext
def seed_command(shoppers: int, if_empty: bool) -> None:
    """Generate the catalog, shoppers and pages, and train the built-in recommender."""
    settings = services().settings
    with unit_of_work() as session:
        if is_seeded(session) and if_empty:
            if not settings.resolved_model_path.exists():  # seeded, but training never finished
                _train(settings.data_path, settings.resolved_model_path)
            click.echo("Demo data already present; nothing to do.")
            return
        if is_seeded(session) or has_catalog(session):
            raise click.ClickException(
                "the database already has demo data (or a seed that stopped half-way); "
                "seed an empty database, e.g. delete instance/tessera.db and run `make run` again"
            )
        report = seed(session, settings.data_path, n_shoppers=shoppers, progress=click.echo)
        token = create_token(
            session, "demo-admin", frozenset({"admin", "events", "preview", "privacy", "storefront"}), actor="demo-seed"
        )
        shop = create_token(session, "demo-storefront", frozenset({"storefront", "events"}), actor="demo-seed")
        password = secrets.token_urlsafe(12)
        admin = create_user(session, DEMO_ADMIN, password, "admin", actor="demo-seed")
    click.echo(
        f"Seeded {report.items} items, {report.shoppers} shoppers, {report.interactions} interactions, "
        f"{report.pages} pages, {report.experiments} running experiments ({report.visitors} simulated visitors), "
        f"{report.audiences} audiences, {len(report.campaigns)} campaigns "
        f"({', '.join(f'{key} {status}' for key, status in report.campaigns)})."
    )
    click.echo(f"Demo admin API token (shown once): {token}")
    click.echo(f"Demo storefront API token (shown once; resolve and events): {shop}")
    click.echo(f"  try: curl -H 'Authorization: Bearer {shop}' "
               "'http://127.0.0.1:8000/api/v1/pages/home/resolve?marketplace=US&user_id=shopper-42'")  # fmt: skip
    click.echo(f"Demo admin sign-in (shown once): {admin.email} / {password}")
    _train(settings.data_path, settings.resolved_model_path)


def _train(data_dir: Path, model_path: Path) -> None:
    """Train the built-in recommender with its own `train` command (same progress bar and summary),
    on the history exported from the database: everyone seeded, nobody erased or opted out."""
    from recommender.__main__ import train_command
    from shoppers.erasure_digest import ShopperDigest
    from shoppers.service import export_training_data

    with services().db.session() as session:
        export_training_data(session, data_dir, services().get(ShopperDigest))

    model_path.parent.mkdir(parents=True, exist_ok=True)
    click.get_current_context().invoke(train_command, data_dir=data_dir, model_path=model_path, half_life_days=14.0)
    for written in (data_dir, model_path.parent):  # shoppers' histories and what was learnt from them
        tighten(written)
