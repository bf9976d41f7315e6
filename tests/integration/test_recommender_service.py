from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

import recommender.service as service
from demo.generator import generate, write_files
from recommender.data import read_dataset
from recommender.engine import STRATEGIES
from recommender.model import Model, train

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("recommender")
    write_files(generate(seed=5, n_shoppers=400, now=NOW), directory)
    path = directory / "model.npz"
    train(*read_dataset(directory), NOW).save(path)
    return path


@pytest.fixture(scope="module")
def app(model_path: Path) -> Flask:
    return service.create_app(model_path)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _post(client: FlaskClient, strategy: str, body: object):
    return client.post(f"/v1/recommendations/{strategy}", json=body)


def test_health_reports_the_model_version(client: FlaskClient, model_path: Path) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "model_version": Model.load(model_path).version}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_answers_with_items_and_reasons(client: FlaskClient, strategy: str) -> None:
    body = {"user_id": "shopper-3", "count": 5, "marketplace": "US", "filters": {"price_max": 200}}
    if strategy in ("similar_items", "bought_together"):
        body["anchor_item_id"] = "gc-0040"
    response = _post(client, strategy, body)
    assert response.status_code == 200, response.json
    payload = response.json
    assert payload["strategy"] == strategy and payload["model_version"]
    assert 0 < len(payload["items"]) <= 5
    assert all(set(item) == {"item_id", "score", "reason"} and item["reason"] for item in payload["items"])


def test_exclusions_and_filters_pass_through(client: FlaskClient) -> None:
    first = _post(client, "popular", {"count": 3}).json["items"]
    excluded = [item["item_id"] for item in first]
    again = _post(client, "popular", {"count": 3, "exclude": excluded, "filters": {"occasion": "birthday"}})
    assert again.status_code == 200
    assert not set(excluded) & {item["item_id"] for item in again.json["items"]}
    assert {item["reason"] for item in again.json["items"]} == {"Popular for birthday"}


def test_count_defaults_and_extra_context_is_ignored(client: FlaskClient) -> None:
    response = _post(client, "personalized", {"user_id": None, "locale": "en-US", "device": "mobile"})
    assert response.status_code == 200 and len(response.json["items"]) == 10


@pytest.mark.parametrize(
    ("strategy", "body", "field"),
    [
        ("popular", [1, 2], "body"),
        ("popular", {"count": 0}, "count"),
        ("popular", {"count": 101}, "count"),
        ("popular", {"count": "5"}, "count"),
        ("popular", {"count": True}, "count"),
        ("personalized", {"user_id": 42}, "user_id"),
        ("personalized", {"user_id": ""}, "user_id"),
        ("popular", {"filters": "birthday"}, "filters"),
        ("popular", {"filters": {"colour": "red"}}, "filters.colour"),
        ("popular", {"filters": {"occasion": 3}}, "filters.occasion"),
        ("popular", {"filters": {"price_min": -1}}, "filters.price_min"),
        ("popular", {"filters": {"price_min": 50, "price_max": 10}}, "filters.price_min"),
        ("popular", {"exclude": "gc-0001"}, "exclude"),
        ("popular", {"exclude": [1]}, "exclude"),
        ("popular", {"marketplace": 7}, "marketplace"),
        ("similar_items", {"count": 3}, "anchor_item_id"),
        ("similar_items", {"anchor_item_id": "gc-9999"}, "anchor_item_id"),
        ("bought_together", {"anchor_item_id": "nope"}, "anchor_item_id"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client: FlaskClient, strategy: str, body: object, field: str) -> None:
    response = _post(client, strategy, body)
    assert response.status_code == 400
    assert response.json["error"] == "bad_request" and response.json["field"] == field
    assert response.json["message"].startswith(field)


def test_a_body_that_is_not_json_is_a_400(client: FlaskClient) -> None:
    response = client.post("/v1/recommendations/popular", data="count=3", content_type="text/plain")
    assert response.status_code == 400 and response.json["error"] == "bad_request"


def test_unknown_strategy_is_a_json_404(client: FlaskClient) -> None:
    response = _post(client, "magic", {"count": 3})
    assert response.status_code == 404
    assert response.json["error"] == "not_found" and "magic" in response.json["message"]


def test_other_http_errors_are_json_too(client: FlaskClient) -> None:
    assert client.get("/v1/recommendations/popular").json["error"] == "method_not_allowed"
    assert client.get("/nowhere").status_code == 404 and client.get("/nowhere").json["error"] == "not_found"


def test_the_model_path_comes_from_the_environment(model_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(service.MODEL_ENV, str(model_path))
    assert service.create_app().test_client().get("/healthz").status_code == 200


def test_a_missing_model_fails_loudly_with_the_way_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="python -m recommender train"):
        service.create_app(tmp_path / "absent.npz")


def test_importing_the_module_builds_no_app(tmp_path: Path) -> None:
    code = "import recommender.service as s; assert not s._built; print('clean')"
    env = {**os.environ, "PYTHONPATH": str(ROOT), service.MODEL_ENV: str(tmp_path / "absent.npz")}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "clean"


def test_module_app_is_built_on_first_access_and_cached(model_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(service.MODEL_ENV, str(model_path))
    monkeypatch.setattr(service, "_built", {})
    first = service.app
    assert isinstance(first, Flask) and service.app is first
    with pytest.raises(AttributeError):
        _ = service.not_an_attribute


def test_batch_answers_each_query_or_names_its_problem(client: FlaskClient) -> None:
    queries = [
        {"strategy": "personalized", "user_id": "shopper-3", "count": 4},
        {"strategy": "popular", "count": 2, "filters": {"occasion": "birthday"}},
        {"strategy": "similar_items", "count": 2},
        {"strategy": "astrology", "count": 2},
    ]
    response = client.post("/v1/recommendations:batch", json={"requests": queries})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == [200, 200, 400, 404]
    assert len(results[0]["items"]) == 4 and all(i["reason"] for i in results[0]["items"])
    assert results[2]["field"] == "anchor_item_id"


def test_batch_needs_a_list_of_queries(client: FlaskClient) -> None:
    response = client.post("/v1/recommendations:batch", json={"requests": []})
    assert response.status_code == 400 and response.get_json()["field"] == "requests"
