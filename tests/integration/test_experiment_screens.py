"""The experiment screens over HTTP: the list, defining one with the form (errors by their
fields), start / stop / ship by role, results that show their working and warn loudly, and
the power planner."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from core.db import utcnow
from experiments import service, stats
from experiments.models import Experiment, Exposure
from layout_engine import pages
from layout_engine.audiences import known_audiences
from shoppers.models import EventRow
from tests.support.builders import storefront

FORM = {"page": "US/birthday", "key": "bday-trending", "hypothesis": "Trending cards sell more",
        "variant_key": ["control", "trending", ""], "variant_weight": ["0.5", "0.5", ""],
        "variant_version": ["1", "2", ""], "coverage": "0.8", "primary": ["conversion"],
        "guardrails": ["aov", "revenue_per_visitor"]}  # fmt: skip
BODY = {"key": "bday-trending", "hypothesis": "Trending cards sell more", "coverage": 1.0,
        "variants": [{"key": "control", "weight": 0.5, "layout_version": 1},
                     {"key": "trending", "weight": 0.5, "layout_version": 2}]}  # fmt: skip


@pytest.fixture
def page(db_session: Any, make_layout: Any, catalog: list[str]) -> pages.PageInfo:
    """US/birthday with two saved versions, v1 live."""
    created = pages.create_page(db_session, "birthday", "US", "Birthday", make_layout(), "test", "first")
    treatment = make_layout(title="Treatment")
    treatment["slots"][1]["settings"]["strategy"] = "trending"
    saved = pages.save_version(db_session, created, treatment, "trending first", "test", known_audiences())
    published = pages.publish(db_session, saved.page, 1, saved.page.etag)
    db_session.commit()
    return published


@pytest.fixture
def draft(db_session: Any, page: pages.PageInfo) -> service.ExperimentInfo:
    experiment = service.create_experiment(db_session, page, BODY, "test")
    db_session.commit()
    return experiment


@pytest.fixture
def running(db_session: Any, draft: service.ExperimentInfo) -> service.ExperimentInfo:
    """Started ten days ago."""
    service.start(db_session, draft.key, "test")
    db_session.execute(update(Experiment).values(started_at=utcnow() - timedelta(days=10)))
    db_session.commit()
    return draft


def expose(db_session: Any, experiment_id: int, per_variant: list[int], converters: list[int] = ()) -> None:
    """Exposures a day ago; the first `converters[i]` users of variant i order once, an hour later."""
    seen = utcnow() - timedelta(days=1)
    users = [(f"v{v}-u{i}", v, i) for v, n in enumerate(per_variant) for i in range(n)]
    db_session.execute(insert(Exposure), [{"experiment_id": experiment_id, "user_id": u, "variant": v,
                                           "first_seen_at": seen} for u, v, _ in users])  # fmt: skip
    orders = [{"event_id": f"o-{u}", "type": "order", "user_id": u, "order_id": f"o-{u}", "revenue": 20.0 + i % 7,
               "currency": "USD", "occurred_at": seen + timedelta(hours=1)}
              for u, v, i in users if i < (list(converters) or [0] * len(per_variant))[v]]  # fmt: skip
    if orders:
        db_session.execute(insert(EventRow), orders)
    db_session.commit()


def resolve(client: Any, user: str) -> dict[str, Any]:
    response = client.get(
        "/api/v1/pages/birthday/resolve",
        query_string={"marketplace": "US", "user_id": user},
        headers=storefront(client),
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def status_of(db_session: Any, key: str) -> str:
    db_session.expire_all()
    return service.get_experiment(db_session, key).status


# --- list and definition -------------------------------------------------------------------------------------------


def test_list_shows_each_experiment_with_its_page_status_and_variants_and_filters_by_page(
    client: Any, sign_in: Any, running: service.ExperimentInfo
) -> None:
    sign_in("viewer")
    html = client.get("/experiments").get_data(as_text=True)
    assert 'href="/experiments"' in html  # the top nav links here
    row = html.split('id="experiments"', 1)[1]
    assert "bday-trending" in row and "US/birthday" in row and "running" in row
    assert "control · 50% · v1" in row and "trending · 50% · v2" in row
    assert re.search(r"<time datetime=\"[^\"]+\">\d{4}-\d\d-\d\d", row)  # started
    assert "bday-trending" in client.get("/experiments?page=US/birthday").get_data(as_text=True)
    elsewhere = client.get("/experiments?page=DE/birthday").get_data(as_text=True)
    assert "No experiment on DE/birthday yet" in elsewhere


def test_editor_defines_an_experiment_with_the_form(client: Any, sign_in: Any, db_session: Any, page: Any) -> None:
    token = sign_in("editor")
    form = client.get("/experiments/new?page=US/birthday").get_data(as_text=True)
    assert '<option value="2" selected>v2 · trending first</option>' in form  # the newest is the first treatment
    extra = {"namespace_name": "birthday", "namespace_start": "0", "namespace_end": "0.5",
             "audience": "returning-customers", "ends_at": "2030-01-31T00:00"}  # fmt: skip
    response = client.post("/experiments", data={**FORM, **extra, "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/experiments/bday-trending"
    created = service.get_experiment(db_session, "bday-trending")
    assert [(v.key, v.weight, v.layout_version) for v in created.variants] == [("control", 0.5, 1),
                                                                                ("trending", 0.5, 2)]  # fmt: skip
    assert created.status == "draft" and created.coverage == 0.8 and created.seed == "bday-trending"
    assert (created.namespace.name, created.namespace.start, created.namespace.end) == ("birthday", 0.0, 0.5)
    assert created.metrics == {"primary": ["conversion"], "guardrails": ["aov", "revenue_per_visitor"]}
    assert created.audience == "returning-customers" and created.ends_at.isoformat() == "2030-01-31T00:00:00+00:00"
    assert "is saved as a draft" in client.get("/experiments/bday-trending").get_data(as_text=True)


def test_a_bad_weight_is_named_next_to_its_field_and_what_was_typed_is_kept(
    client: Any, sign_in: Any, db_session: Any, page: Any
) -> None:
    token = sign_in("editor")
    response = client.post("/experiments", data={**FORM, "variant_weight": ["0.5", "half", ""], "csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'<p class="field-error" id="variant-1-weight-error">Weight: [^<]+</p>', html)
    assert 'value="half"' in html and "Trending cards sell more</textarea>" in html  # what was typed is kept
    off = client.post("/experiments", data={**FORM, "variant_weight": ["0.7", "0.6", ""], "csrf_token": token})
    assert off.status_code == 422 and 'id="weights-error"' in off.get_data(as_text=True)
    assert "add up to 1" in off.get_data(as_text=True)
    assert service.list_experiments(db_session) == []


def test_service_errors_land_on_their_fields(client: Any, sign_in: Any, page: Any) -> None:
    token = sign_in("editor")
    data = {**FORM, "key": "Not OK", "coverage": "2", "variant_version": ["1", "9", ""], "csrf_token": token}
    html = client.post("/experiments", data=data).get_data(as_text=True)
    assert 'id="exp-key-error"' in html and 'id="exp-coverage-error"' in html
    assert 'id="variant-1-version-error"' in html and "has no version 9" in html
    one = client.post("/experiments", data={**FORM, "variant_key": ["control", "", ""], "variant_weight": ["1", "", ""],
                                            "csrf_token": token})  # fmt: skip
    assert one.status_code == 422 and 'id="variants-error"' in one.get_data(as_text=True)
    unmeasured = client.post("/experiments", data={**FORM, "primary": [], "csrf_token": token})
    assert unmeasured.status_code == 422 and "at least one primary metric" in unmeasured.get_data(as_text=True)


def test_a_taken_key_is_refused_at_the_key(client: Any, sign_in: Any, draft: Any) -> None:
    token = sign_in("editor")
    response = client.post("/experiments", data={**FORM, "csrf_token": token})
    assert response.status_code == 409 and 'id="exp-key-error"' in response.get_data(as_text=True)


def test_switching_the_page_with_htmx_returns_only_the_form_and_a_row_can_be_added(
    client: Any, sign_in: Any, page: Any
) -> None:
    sign_in("editor")
    partial = client.get("/experiments/new?page=US/birthday", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert partial.lstrip().startswith('<div id="experiment-form"') and "<html" not in partial
    row = client.get("/experiments/new/variant?page=US/birthday").get_data(as_text=True)
    assert 'name="variant_key"' in row and '<option value="2"' in row


def test_viewers_cannot_define_experiments(client: Any, sign_in: Any, db_session: Any, page: Any) -> None:
    token = sign_in("viewer")
    assert client.get("/experiments/new").status_code == 403
    assert client.post("/experiments", data={**FORM, "csrf_token": token}).status_code == 403
    assert service.list_experiments(db_session) == []


# --- start, stop, ship ---------------------------------------------------------------------------------------------


def test_editors_cannot_start_stop_or_ship(client: Any, sign_in: Any, db_session: Any, draft: Any) -> None:
    token = sign_in("editor")
    html = client.get("/experiments/bday-trending").get_data(as_text=True)
    assert "Start the experiment" not in html
    for action in ("start", "stop", "ship"):
        response = client.post(
            f"/experiments/bday-trending/{action}", data={"csrf_token": token, "variant": "trending"}
        )
        assert response.status_code == 403, action
    assert status_of(db_session, "bday-trending") == "draft"


def test_publisher_starts_then_stops_with_the_kill_switch(
    client: Any, sign_in: Any, db_session: Any, draft: Any
) -> None:
    token = sign_in("publisher")
    assert 'data-confirm="Start bday-trending?' in client.get("/experiments/bday-trending").get_data(as_text=True)
    started = client.post("/experiments/bday-trending/start", data={"csrf_token": token})
    assert started.status_code == 303 and started.headers["Location"] == "/experiments/bday-trending"
    assert status_of(db_session, "bday-trending") == "running"
    html = client.get("/experiments/bday-trending").get_data(as_text=True)
    assert "Stop: serve control to everyone now" in html and "is running" in html
    assert resolve(client, "shopper-1")["experiment"]["key"] == "bday-trending"
    again = client.post("/experiments/bday-trending/start", data={"csrf_token": token}, follow_redirects=True)
    assert "only a draft can start" in again.get_data(as_text=True)  # refused, in words
    client.post("/experiments/bday-trending/stop", data={"csrf_token": token})
    assert status_of(db_session, "bday-trending") == "stopped"
    for user in ("shopper-1", "shopper-2", "shopper-3"):  # at once: this process's cached lookup was dropped
        served = resolve(client, user)
        assert served["experiment"] is None and served["version"] == 1


def test_publisher_ships_the_winner_as_an_ordinary_publish(
    client: Any, admin_headers: dict[str, str], sign_in: Any, db_session: Any, running: Any
) -> None:
    token = sign_in("publisher")
    shipped = client.post("/experiments/bday-trending/ship", data={"csrf_token": token, "variant": "trending"},
                          follow_redirects=True)  # fmt: skip
    assert "variant trending is now the published page" in shipped.get_data(as_text=True)
    assert status_of(db_session, "bday-trending") == "stopped"
    db_session.expire_all()
    assert pages.get_page(db_session, "birthday", "US").published_number == 2
    events = client.get("/api/v1/audit?target=US/birthday", headers=admin_headers).get_json()["events"]
    assert {e["action"] for e in events[:3]} == {"experiment_stopped", "experiment_shipped", "publish"}
    resolved = resolve(client, "shopper-1")
    assert resolved["version"] == 2 and resolved["experiment"] is None


def test_staff_previews_of_a_page_under_test_record_no_exposure(
    app: Any, client: Any, sign_in: Any, db_session: Any, running: Any
) -> None:
    """Before: opening the page's preview in the UI entered the previewed shopper into the results."""
    sign_in("viewer")
    for url in (
        "/preview/birthday?marketplace=US&user_id=staff-look-1",
        "/pages/US/birthday/preview?user_id=staff-look-2",
    ):
        assert client.get(url).status_code == 200
    app.extensions["tessera"].exposures.flush()
    looked = select(func.count()).select_from(Exposure).where(Exposure.user_id.like("staff-look-%"))
    assert db_session.scalar(looked) == 0
    resolve(client, "shopper-look-3")  # a shopper's own visit still counts
    app.extensions["tessera"].exposures.flush()
    assert (
        db_session.scalar(select(func.count()).select_from(Exposure).where(Exposure.user_id == "shopper-look-3")) == 1
    )


def test_a_ui_ship_whose_cache_write_fails_succeeds_and_says_invalidation_is_pending(
    client: Any, sign_in: Any, db_session: Any, running: Any, cache_outage: Any
) -> None:
    token = sign_in("publisher")
    cache_outage.begin()
    shipped = client.post("/experiments/bday-trending/ship", data={"csrf_token": token, "variant": "trending"},
                          follow_redirects=True)  # fmt: skip
    html = shipped.get_data(as_text=True)
    assert shipped.status_code == 200 and "variant trending is now the published page" in html
    assert "could not be updated yet" in html
    db_session.expire_all()
    assert pages.get_page(db_session, "birthday", "US").published_number == 2
    assert cache_outage.end() == 0
    resolved = resolve(client, "shopper-1")
    assert resolved["version"] == 2 and resolved["experiment"] is None


# --- results -------------------------------------------------------------------------------------------------------


def test_results_show_the_statistics_table_and_plain_words(
    client: Any, sign_in: Any, db_session: Any, running: Any
) -> None:
    expose(db_session, running.id, [1000, 1000], converters=[40, 90])
    sign_in("viewer")
    html = client.get("/experiments/bday-trending").get_data(as_text=True)
    table = html.split('id="variant-stats"', 1)[1].split("</table>", 1)[0]
    assert "1,000" in table and ">40<" in table and ">90<" in table and "4.00%" in table and "9.00%" in table
    comparisons = html.split('id="comparisons"', 1)[1].split("</table>", 1)[0]
    assert "Conversion rate" in comparisons and "+125.0%" in comparisons  # 9% against 4%
    assert 'class="badge ok">clear</span>' in comparisons
    assert "Sample ratio mismatch" not in html
    assert 'id="experiment-chart-data"' in html and 'id="forest-chart"' in html
    assert "chart-4.6.1.umd.min.js" in html


def test_an_uneven_split_raises_a_loud_sample_ratio_warning(
    client: Any, sign_in: Any, db_session: Any, running: Any
) -> None:
    expose(db_session, running.id, [900, 100])
    sign_in("viewer")
    html = client.get("/experiments/bday-trending").get_data(as_text=True)
    assert 'id="srm-warning"' in html and 'role="alert"' in html
    assert "Sample ratio mismatch: traffic split does not match the weights" in html


def test_a_draft_says_there_is_nothing_to_show_yet(client: Any, sign_in: Any, draft: Any) -> None:
    sign_in("viewer")
    html = client.get("/experiments/bday-trending").get_data(as_text=True)
    assert "No shopper has seen this experiment yet" in html and 'id="variant-stats"' not in html


def test_unknown_experiment_is_a_readable_404(client: Any, sign_in: Any) -> None:
    sign_in("viewer")
    response = client.get("/experiments/nothing-here")
    assert response.status_code == 404 and "Not found" in response.get_data(as_text=True)


# --- power planner -------------------------------------------------------------------------------------------------

PLAN = {"baseline": "5", "mde": "10", "daily": "2000", "variants": "2", "coverage": "1", "alpha": "0.05",
        "power": "0.8", "days": "14"}  # fmt: skip


def test_power_planner_gives_the_numbers_of_stats_plan(client: Any, sign_in: Any) -> None:
    sign_in("viewer")
    response = client.get("/experiments/plan", query_string=PLAN, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    expected = stats.plan(0.05, 0.10, 2000, 2, 1.0, 0.05, 0.8)
    assert f'data-plan="users-per-variant">{expected.users_per_variant:,}<' in html
    assert f'data-plan="days">{math.ceil(expected.days)} days<' in html
    mde = stats.minimum_detectable_effect(0.05, 2000 // 2 * 14, 0.05, 0.8)
    assert f'data-plan="mde">{mde * 100:.1f}%<' in html
    plain = client.get("/experiments/plan", query_string=PLAN).get_data(as_text=True)
    assert "<html" in plain and f"{expected.users_per_variant:,}" in plain  # works as a plain GET form too


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [("baseline", "abc", "a percentage above 0 and below 100"), ("baseline", "150", "a percentage above 0"),
     ("alpha", "2", "above 0 and at most 0.5"), ("variants", "1.5", "a whole number from 2 to 20"),
     ("daily", "-3", "a positive number"), ("mde", "-5", "a positive percentage"), ("power", "0.3", "from 0.5")],
)  # fmt: skip
def test_power_planner_names_a_bad_input_next_to_it(
    client: Any, sign_in: Any, field: str, value: str, says: str
) -> None:
    sign_in("viewer")
    response = client.get("/experiments/plan", query_string={**PLAN, field: value}, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    error = re.search(rf'<p class="field-error" id="plan-{field}-error">([^<]+)</p>', html)
    assert error and says in error.group(1)


def test_power_planner_refuses_a_lift_past_100_percent(client: Any, sign_in: Any) -> None:
    sign_in("viewer")
    response = client.get("/experiments/plan", query_string={**PLAN, "baseline": "60", "mde": "100"})
    assert response.status_code == 422 and 'id="plan-mde-error"' in response.get_data(as_text=True)


def test_experiment_page_plans_with_its_own_traffic(client: Any, sign_in: Any, db_session: Any, running: Any) -> None:
    expose(db_session, running.id, [500, 500], converters=[20, 25])  # 1,000 shoppers in 10 days
    sign_in("viewer")
    html = client.get("/experiments/bday-trending").get_data(as_text=True)
    planner = html.split('id="power-plan"', 1)[1]
    assert 'name="daily" value="100"' in planner and 'name="baseline" value="4.00"' in planner
    assert 'name="experiment" value="bday-trending"' in planner
