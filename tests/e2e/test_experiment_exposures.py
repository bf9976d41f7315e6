"""End to end: a real server assigns shoppers of a running experiment like the pure
algorithm, answers with the variant's version, and writes every first exposure to the
database when it shuts down, although its flush interval never came round."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from experiments.assignment import ExperimentSpec, assign
from tests.e2e.conftest import storefront_headers
from tests.support.processes import free_port, gunicorn, serving

pytestmark = pytest.mark.e2e
SHOPPERS = [f"e2e-shopper-{i}" for i in range(40)]


def _experiment_on_de_birthday(base: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{base}/api/v1/pages/birthday/versions?marketplace=DE"
    current = httpx.get(url, headers=headers).json()["versions"]
    document = httpx.get(f"{url.split('?')[0]}/{current[0]['number']}?marketplace=DE", headers=headers).json()
    treatment = {**document["document"], "title": "Alles Gute — treatment"}
    saved = httpx.post(url, json={"document": treatment, "comment": "e2e treatment"}, headers=headers)
    assert saved.status_code == 201, saved.text
    body = {"key": "e2e-de-birthday", "page": "birthday", "marketplace": "DE", "hypothesis": "e2e",
            "variants": [{"key": "control", "weight": 0.5, "layout_version": document["number"]},
                         {"key": "treatment", "weight": 0.5, "layout_version": saved.json()["version"]}]}  # fmt: skip
    assert httpx.post(f"{base}/api/v1/experiments", json=body, headers=headers).status_code == 201
    assert httpx.post(f"{base}/api/v1/experiments/e2e-de-birthday/start", headers=headers).status_code == 200


def test_exposures_are_flushed_at_shutdown_and_match_the_pure_assignment(instance: dict[str, str]) -> None:
    port = free_port()
    env = {k: v for k, v in instance.items() if not k.startswith("ADMIN_")}
    env["TESSERA_EXPOSURE_FLUSH_S"] = "3600"  # only the shutdown flush can write them
    served: dict[str, Any] = {}
    with serving(gunicorn("app:create_app()", port, workers=1, threads=4), env, port) as base:
        _experiment_on_de_birthday(base, instance["ADMIN_TOKEN"])
        for shopper in SHOPPERS * 2:  # each shopper twice: still one exposure
            page = httpx.get(
                f"{base}/api/v1/pages/birthday/resolve",
                params={"marketplace": "DE", "user_id": shopper},
                headers=storefront_headers(instance),
            )
            assert page.status_code == 200
            served[shopper] = page.json()["experiment"]["variant"]
    spec = ExperimentSpec("e2e-de-birthday", (0.5, 0.5))
    assert served == {s: ("control", "treatment")[assign(spec, s) or 0] for s in SHOPPERS}
    engine = create_engine(os.path.expandvars(instance["TESSERA_DATABASE_URL"]))
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT user_id, variant FROM exposures JOIN experiments ON experiments.id = exposures.experiment_id "
            "WHERE experiments.key = 'e2e-de-birthday'")).all()  # fmt: skip
    engine.dispose()
    assert sorted(rows) == sorted((s, assign(spec, s)) for s in SHOPPERS)
