"""Who may see which screen: sign-in required, then a minimum role, checked on the server."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import redirect, render_template, request, url_for

from core.web import current_user

F = TypeVar("F", bound=Callable[..., Any])


def require_role(role: str) -> Callable[[F], F]:
    """Send strangers to sign in; show 403 to people whose role is too small."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return redirect(url_for("ui_auth.sign_in", next=request.full_path.rstrip("?")))
            if not user.can(role):
                return render_template("config_ui/forbidden.html", role=role), 403
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
