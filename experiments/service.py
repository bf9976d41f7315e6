"""Defining and running experiments (the admin service). One transaction per operation."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.errors import Conflict, NotFound, ValidationFailed
from experiments.assignment import ExperimentSpec, Namespace, validate
from experiments.models import Experiment, ExperimentVariant
from layout_engine import pages
from layout_engine.models import LayoutVersion, Page

KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


@dataclass(frozen=True)
class VariantInfo:
    key: str
    weight: float
    layout_version: int


@dataclass(frozen=True)
class ExperimentInfo:
    id: int
    key: str
    page_id: int
    status: str
    seed: str
    hash_version: int
    coverage: float
    namespace: Namespace | None
    variants: tuple[VariantInfo, ...]
    hypothesis: str = ""

    @property
    def spec(self) -> ExperimentSpec:
        weights = tuple(v.weight for v in self.variants)
        return ExperimentSpec(self.key, weights, self.coverage, self.seed, self.hash_version, self.namespace)

    def as_dict(self) -> dict[str, Any]:
        namespace = None
        if self.namespace is not None:
            namespace = {"name": self.namespace.name, "range": [self.namespace.start, self.namespace.end]}
        return {
            "key": self.key, "status": self.status, "seed": self.seed, "hash_version": self.hash_version,
            "coverage": self.coverage, "namespace": namespace, "hypothesis": self.hypothesis,
            "variants": [{"key": v.key, "weight": v.weight, "layout_version": v.layout_version} for v in self.variants],
        }  # fmt: skip


def create_experiment(session: Session, page: pages.PageInfo, body: dict[str, Any], actor: str) -> ExperimentInfo:
    """A draft experiment on `page`; variants point at the page's saved versions, control first."""
    variants = _parse_variants(body.get("variants"))
    namespace = _parse_namespace(body.get("namespace"))
    key = body.get("key")
    problems: list[dict[str, str]] = []
    coverage = _number(body, "coverage", 1.0, problems)
    hash_version = int(_number(body, "hash_version", 2, problems, is_integer=True))
    spec = ExperimentSpec(str(key), tuple(v.weight for v in variants), coverage, str(body.get("seed") or key),
                          hash_version, namespace)  # fmt: skip
    problems += [{"path": f"/{field}", "message": message} for field, message in validate(spec)]
    if not isinstance(key, str) or not KEY.match(key):
        problems.append({"path": "/key", "message": "lower-case letters, digits, - and _"})
    problems += _missing_versions(session, page, variants)
    if problems:
        raise ValidationFailed("the experiment is not valid", problems)
    row = Experiment(key=key, page_id=page.id, hypothesis=str(body.get("hypothesis", "")), seed=spec.seed,
                     hash_version=spec.hash_version, coverage=spec.coverage,
                     namespace=namespace.name if namespace else None,
                     namespace_start=namespace.start if namespace else None,
                     namespace_end=namespace.end if namespace else None, metrics=body.get("metrics") or {})  # fmt: skip
    session.add(row)
    try:
        session.flush()
        for position, v in enumerate(variants):
            session.add(ExperimentVariant(experiment_id=row.id, position=position, key=v.key, weight=v.weight,
                                          layout_version=v.layout_version))  # fmt: skip
        audit.record(session, actor, "experiment_created", f"{page.marketplace}/{page.slug}", experiment=key)
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"an experiment '{key}' exists already, or two variants share a key") from exc
    return get_experiment(session, str(key))


def _number(
    body: dict[str, Any], name: str, default: float, problems: list[dict[str, str]], is_integer: bool = False
) -> float:
    """A numeric field, or `default` with a problem named at its path."""
    value = body.get(name, default)
    is_number = not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
    if not is_number or (is_integer and not float(value).is_integer()):
        problems.append({"path": f"/{name}", "message": "expected an integer" if is_integer else "expected a number"})
        return default
    return float(value)


def _parse_variants(raw: Any) -> list[VariantInfo]:
    if not isinstance(raw, list) or len(raw) < 2:
        raise ValidationFailed("the experiment is not valid", [{"path": "/variants", "message": "two or more"}])
    variants, problems = [], []
    for i, item in enumerate(raw):
        try:
            variants.append(VariantInfo(str(item["key"]), float(item["weight"]), int(item["layout_version"])))
        except (KeyError, TypeError, ValueError):
            problems.append({"path": f"/variants/{i}", "message": "needs key, weight and layout_version"})
    if problems:
        raise ValidationFailed("the experiment is not valid", problems)
    return variants


def _parse_namespace(raw: Any) -> Namespace | None:
    if raw is None:
        return None
    try:
        start, end = raw["range"]
        return Namespace(str(raw["name"]), float(start), float(end))
    except (KeyError, TypeError, ValueError):
        raise ValidationFailed(
            "the experiment is not valid",
            [{"path": "/namespace", "message": 'like {"name": "home", "range": [0, 0.5]}'}],
        ) from None


def _missing_versions(session: Session, page: pages.PageInfo, variants: list[VariantInfo]) -> list[dict[str, str]]:
    saved = set(session.scalars(select(LayoutVersion.number).where(LayoutVersion.page_id == page.id)))
    return [
        {"path": f"/variants/{i}/layout_version", "message": f"page {page.slug} has no version {v.layout_version}"}
        for i, v in enumerate(variants)
        if v.layout_version not in saved
    ]


def get_experiment(session: Session, key: str) -> ExperimentInfo:
    row = session.scalars(select(Experiment).where(Experiment.key == key)).first()
    if row is None:
        raise NotFound(f"no experiment '{key}'")
    return _info(session, row)


def list_experiments(session: Session, page_id: int | None = None) -> list[ExperimentInfo]:
    query = select(Experiment).order_by(Experiment.created_at.desc(), Experiment.id.desc())
    if page_id is not None:
        query = query.where(Experiment.page_id == page_id)
    return [_info(session, row) for row in session.scalars(query)]


def running_for_page(session: Session, page_id: int) -> ExperimentInfo | None:
    row = session.scalars(
        select(Experiment).where(Experiment.page_id == page_id, Experiment.status == "running")
    ).first()
    return None if row is None else _info(session, row)


def start(session: Session, key: str, actor: str) -> ExperimentInfo:
    row = _row(session, key)
    if row.status != "draft":
        raise Conflict(f"experiment '{key}' is {row.status}; only a draft can start")
    if running_for_page(session, row.page_id) is not None:
        raise Conflict("another experiment is running on this page; stop it first")
    row.status, row.started_at = "running", utcnow()
    audit.record(session, actor, "experiment_started", "", experiment=key)
    session.commit()
    return _info(session, row)


def stop(session: Session, key: str, actor: str) -> ExperimentInfo:
    """The kill switch: from the next request on, everyone gets the published page (control)."""
    row = _row(session, key)
    if row.status != "running":
        raise Conflict(f"experiment '{key}' is {row.status}; only a running experiment can stop")
    row.status, row.ended_at = "stopped", utcnow()
    audit.record(session, actor, "experiment_stopped", "", experiment=key)
    session.commit()
    return _info(session, row)


def _row(session: Session, key: str) -> Experiment:
    row = session.scalars(select(Experiment).where(Experiment.key == key)).first()
    if row is None:
        raise NotFound(f"no experiment '{key}'")
    return row


def _info(session: Session, row: Experiment) -> ExperimentInfo:
    variants = session.scalars(
        select(ExperimentVariant).where(ExperimentVariant.experiment_id == row.id).order_by(ExperimentVariant.position)
    )
    namespace = None
    if row.namespace is not None and row.namespace_start is not None and row.namespace_end is not None:
        namespace = Namespace(row.namespace, row.namespace_start, row.namespace_end)
    return ExperimentInfo(row.id, row.key, row.page_id, row.status, row.seed, row.hash_version, row.coverage, namespace,
                          tuple(VariantInfo(v.key, v.weight, v.layout_version) for v in variants), row.hypothesis)  # fmt: skip


def ship(session: Session, key: str, variant_key: str, actor: str) -> tuple[ExperimentInfo, pages.PageInfo]:
    """Ship the winner: stop the experiment (if running) and publish the variant's layout
    version as an ordinary, gated and audited publish of the page."""
    experiment = get_experiment(session, key)
    variant = next((v for v in experiment.variants if v.key == variant_key), None)
    if variant is None:
        raise ValidationFailed("unknown variant", [{"path": "/variant", "message": "not a variant of this experiment"}])
    row = _row(session, key)
    page_row = session.get(Page, row.page_id)
    if page_row is None:
        raise NotFound("the experiment's page no longer exists")
    page = pages.get_page(session, page_row.slug, page_row.marketplace)
    if row.status == "running":
        experiment = stop(session, key, actor)
    published = pages.publish(session, page, variant.layout_version, page.etag, actor)
    audit.record(session, actor, "experiment_shipped", f"{page.marketplace}/{page.slug}", experiment=key,
                 variant=variant_key, version=variant.layout_version)  # fmt: skip
    session.commit()
    return experiment, published
