"""`flask --app app tokens ...`: manage API tokens."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from core import shopper_binding
from core.auth import create_token, parse_scopes
from core.errors import ApiError, Conflict
from core.users import ROLES, create_user, find_user_id, set_password
from core.web import services, unit_of_work


@click.group("tokens")
def tokens_cli() -> None:
    """Create API tokens for the storefront and for admin scripts."""


@tokens_cli.command("create")
@click.argument("name")
@click.option(
    "--scopes", default="admin", show_default=True, help="Comma-separated: storefront, events, privacy, preview, admin."
)
@click.option("--rate", type=click.IntRange(1, 1_000_000), default=None,
              help="At most this many requests a minute (429 past it); no limit when not given.")  # fmt: skip
@with_appcontext
def create(name: str, scopes: str, rate: int | None) -> None:
    """Create a token and print it once; only its digest is stored."""
    try:
        parsed = parse_scopes(scopes)
    except ApiError as exc:
        raise click.BadParameter(exc.message, param_hint="--scopes") from exc
    try:
        with unit_of_work() as session:
            token = create_token(session, name, parsed, actor="cli", rate_per_minute=rate)
    except Conflict as exc:
        raise click.ClickException(f"a token named '{name}' already exists") from exc
    click.echo(token)
    click.echo(f"Token '{name}' with scopes {','.join(sorted(parsed))}. Store it now: it is not shown again.", err=True)


@tokens_cli.command("shopper-key")
@with_appcontext
def shopper_key() -> None:
    """Print the key the storefront signs shopper bindings with (core.shopper_binding)."""
    click.echo(services().settings.shopper_binding_key.decode())


@tokens_cli.command("sign-shopper")
@click.argument("user_id")
@click.option("--hours", type=click.IntRange(1, 24 * 7), default=24, show_default=True)
@with_appcontext
def sign_shopper(user_id: str, hours: int) -> None:
    """Print a `Tessera-Shopper` header value binding USER_ID, as a storefront would sign it."""
    expires = int(time.time()) + hours * 3600
    click.echo(shopper_binding.sign(services().settings.shopper_binding_key, user_id, expires))


@click.group("users")
def users_cli() -> None:
    """People who sign in to the config UI."""


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="editor", show_default=True)
@click.password_option(help="Asked for when not given (at least 10 characters).")
@with_appcontext
def create_user_command(email: str, role: str, password: str) -> None:
    """Create a user who can sign in with EMAIL and the password."""
    try:
        with unit_of_work() as session:
            user = create_user(session, email, password, role, actor="cli")
    except ApiError as exc:
        details = "; ".join(f"{e['path']}: {e['message']}" for e in exc.errors or [])
        raise click.ClickException(f"{exc.message}{': ' + details if details else ''}") from exc
    click.echo(f"Created {user.email} with role {user.role}.")


@users_cli.command("set-password")
@click.argument("email")
@click.password_option(help="Asked for when not given (at least 10 characters).")
@with_appcontext
def set_password_command(email: str, password: str) -> None:
    """Give EMAIL a new password; every session of that user ends."""
    try:
        with unit_of_work() as session:
            user_id = find_user_id(session, email)
            set_password(session, user_id, password, actor="cli")
    except ApiError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"New password set for {email.strip().lower()}; their sessions have ended.")
