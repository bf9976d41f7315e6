"""Command line: `python -m demo generate DATA` writes the demo catalog and shopper histories as the
recommender's input files (`python -m recommender train --data DATA` learns from them).

It lives here rather than in the recommender so that the recommender never imports the demo.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from demo.generator import generate, write_files


@click.group()
def cli() -> None:
    """Tessera's demo data."""


@cli.command("generate")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for catalog.jsonl and interactions.csv.")  # fmt: skip
@click.option("--shoppers", type=click.IntRange(1), default=5000, show_default=True)
@click.option("--items", "n_items", type=click.IntRange(1), default=320, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
def generate_command(data_dir: Path, shoppers: int, n_items: int, seed: int) -> None:
    """Write deterministic demo data (catalog and interactions) to DATA."""
    started = time.perf_counter()
    data = generate(seed=seed, n_items=n_items, n_shoppers=shoppers)
    write_files(data, data_dir)
    click.echo(
        f"Wrote {len(data.catalog)} items and {len(data.interactions)} interactions to {data_dir} "
        f"in {time.perf_counter() - started:.2f} s."
    )


if __name__ == "__main__":
    cli()
