"""The audience screens: the list (each rule in plain words, its estimated size and where it is used)
and the rule builder, with a live panel (the rule in words, problems next to their rows, the estimated
size) and a "would this shopper match?" check; saving (a compare-and-swap on the revision) and deleting
an audience nothing uses.

The form ⇄ rule conversion is `config_ui.audience_forms`; rules, sizes and matching are
`layout_engine.audience_service`'s, which also audits every change. Every form works without
JavaScript: its buttons post the whole form with an `action`, re-rendered whole; htmx upgrades the
same buttons to partial swaps."""

from __future__ import annotations

import re
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from config_ui import audience_forms as forms
from config_ui.access import require_role
from config_ui.views import commit_change, ui_blueprint
from core.db import utcnow
from core.errors import ApiError, Conflict, PreconditionFailed
from core.web import current_user, db_session
from layout_engine import audience_service
from layout_engine.audience_rules import ATTRIBUTES
from layout_engine.audience_service import AudienceInfo
from layout_engine.shopper_query import FieldError, check_marketplace, parse_shopper_query
from shoppers import profile as profiles

bp = ui_blueprint("ui_audiences", __name__)

MATCH_LABELS = {"user_id": "User id", "locale": "Locale", "device": "Device", "marketplace": "Marketplace"}
CUSTOM_FACT = re.compile(r"^(?:attr\.)?([a-z0-9_]{1,40})=(.{0,200})\Z")


@bp.get("/audiences")
@require_role("viewer")
def list_audiences() -> Any:
    listed = [(a, forms.stored(a.rule), audience_service.audience_uses(db_session(), a.key))
              for a in audience_service.list_audiences(db_session())]  # fmt: skip
    return render_template("config_ui/audiences.html", listed=listed)


@bp.get("/audiences/<key>/size")
@require_role("viewer")
def count_audience(key: str) -> Any:
    """A list row's estimated size, fetched once the list is shown: each estimate reads the shoppers' profiles."""
    checked = forms.stored(audience_service.get_audience(db_session(), key).rule)
    size = audience_service.estimate_size(db_session(), checked.rule, utcnow()) if checked.is_valid else None
    return render_template("config_ui/_audience_size.html", size=size, check=checked)


@bp.get("/audiences/new")
@require_role("editor")
def new_audience() -> Any:
    return _screen(None, MultiDict(), forms.apply(forms.Builder(), "add:"))


@bp.post("/audiences")
@require_role("editor")
def create_audience() -> Any:
    builder = forms.from_form(request.form.to_dict(flat=False))
    if _action() != "save":
        return _screen(None, request.form, forms.apply(builder, _action()), match=_action() == "match")
    try:
        created = audience_service.create_audience(db_session(), _body(builder, creating=True), current_user().email)
    except ApiError as exc:
        return _screen(None, request.form, builder, message=exc.message, errors=exc.errors, status=exc.status)
    commit_change()
    flash(f"Audience {created.key} is saved: pages, campaigns and experiments can aim at it now.", "success")
    return redirect(url_for("ui_audiences.edit_audience", key=created.key), code=303)


@bp.get("/audiences/<key>")
@require_role("viewer")
def edit_audience(key: str) -> Any:
    audience = audience_service.get_audience(db_session(), key)
    form = MultiDict({"name": audience.name, "description": audience.description, "etag": audience.etag})
    return _screen(audience, form, forms.from_rule(audience.rule))


@bp.post("/audiences/<key>")
@require_role("editor")
def update_audience(key: str) -> Any:
    audience = audience_service.get_audience(db_session(), key)
    builder = forms.from_form(request.form.to_dict(flat=False))
    if _action() != "save":
        return _screen(audience, request.form, forms.apply(builder, _action()), match=_action() == "match")
    try:
        audience_service.update_audience(db_session(), key, _body(builder, creating=False),
                                         request.form.get("etag", ""), current_user().email,
                                         may_change_live=current_user().can("publisher"))  # fmt: skip
    except PreconditionFailed:
        return _conflict(key, builder)
    except ApiError as exc:
        return _screen(audience, request.form, builder, message=exc.message, errors=exc.errors, status=exc.status)
    commit_change()
    flash(f"Audience {key} is saved.", "success")
    return redirect(url_for("ui_audiences.edit_audience", key=key), code=303)


@bp.post("/audiences/<key>/check")
@require_role("viewer")
def check_audience(key: str) -> Any:
    """A read-only audience's form posted without JavaScript: the stored rule against the shopper typed."""
    audience = audience_service.get_audience(db_session(), key)
    return _screen(audience, request.form, forms.from_rule(audience.rule), match=True)


@bp.post("/audiences/<key>/delete")
@require_role("editor")
def delete_audience(key: str) -> Any:
    try:
        audience_service.delete_audience(db_session(), key, current_user().email)
    except Conflict as exc:  # built in, or still used: the page lists where
        audience = audience_service.get_audience(db_session(), key)
        form = MultiDict({"name": audience.name, "description": audience.description, "etag": audience.etag})
        return _screen(audience, form, forms.from_rule(audience.rule), message=exc.message, status=409)
    commit_change()
    flash(f"Audience {key} is deleted.", "success")
    return redirect(url_for("ui_audiences.list_audiences"), code=303)


@bp.post("/audiences/rule/builder")
@require_role("editor")
def build_audience_rule() -> Any:
    """An add / remove button or a changed attribute or operator: the builder again, and the live panel."""
    builder = forms.apply(forms.from_form(request.form.to_dict(flat=False)), _action())
    return render_template("config_ui/_audience_builder.html", **_builder_context(builder), with_live=True)


@bp.post("/audiences/rule/check")
@require_role("viewer")
def check_audience_rule() -> Any:
    """The live panel: the rule in words, its problems (also next to their rows) and its size."""
    builder = forms.from_form(request.form.to_dict(flat=False))
    return render_template("config_ui/_audience_live.html", **_builder_context(builder), rows_too=True)


@bp.post("/audiences/rule/match")
@require_role("viewer")
def match_audience_rule() -> Any:
    match = _match(request.form, forms.check(forms.from_form(request.form.to_dict(flat=False))))
    return render_template("config_ui/_audience_match.html", match=match), 422 if match.get("error") else 200


# --- the screen ------------------------------------------------------------------------------------------------


def _action() -> str:
    return request.form.get("action") or "save"


def _body(builder: forms.Builder, *, creating: bool) -> dict[str, Any]:
    """What the service takes. A rule the form could not read is sent as None: the service refuses it
    ('the audience is not valid') and the screen shows the form's own words at each row."""
    form = request.form
    checked = forms.check(builder)
    body = {"name": form.get("name", ""), "description": form.get("description", "").strip(),
            "rule": checked.rule if not checked.problems else None}  # fmt: skip
    return {**body, "key": form.get("key", "").strip()} if creating else body


def _screen(audience: AudienceInfo | None, form: MultiDict[str, str], builder: forms.Builder, *, message: str = "",
            errors: list[dict[str, Any]] | None = None, status: int = 200, match: bool = False,
            conflict: AudienceInfo | None = None) -> Any:  # fmt: skip
    """The whole screen. A read-only audience always shows its stored rule, whatever was posted."""
    editable = current_user().can("editor") and not (audience and audience.builtin)
    if audience and not editable:
        builder = forms.from_rule(audience.rule)
    context = _builder_context(builder)
    uses = audience_service.audience_uses(db_session(), audience.key) if audience else []
    return render_template("config_ui/audience_edit.html", **context, audience=audience, form=form, uses=uses,
                           editable=editable, message=message, field_errors=forms.field_errors(errors or []),
                           conflict=conflict, conflict_check=forms.stored(conflict.rule) if conflict else None,
                           match=_match(form, context["check"]) if match or _has_shopper(form) else None,
                           marketplaces=ATTRIBUTES["marketplace"].values,
                           devices=ATTRIBUTES["device"].values), status  # fmt: skip


def _builder_context(builder: forms.Builder) -> dict[str, Any]:
    checked = forms.check(builder)
    size = audience_service.estimate_size(db_session(), checked.rule, utcnow()) if checked.is_valid else None
    return {"builder": builder, "check": checked, "size": size, "attribute_groups": forms.attribute_groups(),
            "operator_labels": forms.OPERATOR_LABELS}  # fmt: skip


def _conflict(key: str, builder: forms.Builder) -> Any:
    """Someone saved meanwhile: show what they saved, keep what this user typed, and let a second
    save replace theirs knowingly (the form now carries their revision)."""
    current = audience_service.get_audience(db_session(), key)
    form = MultiDict(request.form)
    form["etag"] = current.etag
    message = (f"{current.updated_by or 'Someone'} saved this audience while you were editing it. Your changes "
               "are kept below: save again to replace theirs, or reload the page to start from theirs.")  # fmt: skip
    return _screen(current, form, builder, message=message, status=409, conflict=current)


# --- would this shopper match? -----------------------------------------------------------------------------------


def _match(form: MultiDict[str, str], checked: forms.Check) -> dict[str, Any]:
    """The answer for the shopper described in the match inputs, or what stops us from answering."""
    if not checked.is_valid:
        return {"error": "Fix the rule first: the problems are marked next to their conditions."}
    user_id, facts, error = _shopper(form)
    if error:
        return {"error": error}
    result = audience_service.would_match(db_session(), checked.rule, "(this rule)", user_id, facts, utcnow())
    # A profile always says how many orders its shopper placed, so its absence means there is none.
    has_profile = user_id is not None and not result.opted_out and "orders" in result.facts
    return {"result": result, "user_id": user_id, "has_profile": has_profile}


def _has_shopper(form: MultiDict[str, str]) -> bool:
    """Whether the shopper inputs are filled in, so a re-rendered screen answers for them again."""
    return any(form.get(name) for name in ("match_user", "match_locale", "match_device", "match_attr"))


def _shopper(form: MultiDict[str, str]) -> tuple[str | None, dict[str, Any], str]:
    """(user id, request facts, problem) from the match inputs, checked as the resolve API checks them."""
    custom = form.get("match_attr", "").strip()
    found = CUSTOM_FACT.match(custom)
    if custom and not found:
        return None, {}, "Give a storefront attribute as name=value, e.g. gift_wrap=yes."
    marketplace = form.get("match_marketplace") or "US"
    parsed = parse_shopper_query(form.get("match_user", "").strip(), form.get("match_locale", "").strip(),
                                 form.get("match_device"), [(found[1], found[2])] if found else [])  # fmt: skip
    if isinstance(parsed, list):
        return None, {}, _sentences(parsed)
    if problem := check_marketplace(marketplace):
        return None, {}, _sentences([problem])
    facts = profiles.request_facts(marketplace, parsed.locale, parsed.device, parsed.user_id is not None,
                                   dict(parsed.attributes))  # fmt: skip
    return parsed.user_id, facts, ""


def _sentences(problems: list[FieldError]) -> str:
    return " ".join(f"{MATCH_LABELS.get(p.field, 'Storefront attribute')}: {p.message}." for p in problems)
