"""Defining and running experiments (the admin service). One transaction per operation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, changes
from core.changes import ExperimentChanged
from core.db import utcnow
from core.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from experiments import definition
from experiments.assignment import ExperimentSpec, Namespace
from experiments.definition import VariantInfo
from experiments.models import Experiment, ExperimentVariant, Exposure
from layout_engine import audience_service, pages
from layout_engine.models import LayoutVersion, Page
from shoppers import service as shopper_service

# Changing these while an experiment runs moves shoppers between variants and spoils the
# comparison; it is refused unless the caller asks for a re-randomization (a new phase).
ASSIGNMENT_FIELDS = ("variants", "seed", "hash_version", "namespace")
EDITABLE_WHEN_STOPPED = ("hypothesis", "metrics")


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
    page: str = ""
    marketplace: str = ""
    audience: str | None = None
    metrics: dict[str, Any] | None = None
    phase: int = 0
    revision: int = 1
    started_at: datetime | None = None
    ended_at: datetime | None = None
    ends_at: datetime | None = None

    @property
    def spec(self) -> ExperimentSpec:
        weights = tuple(v.weight for v in self.variants)
        return ExperimentSpec(self.key, weights, self.coverage, self.seed, self.hash_version, self.namespace)

    @property
    def etag(self) -> str:
        return f'"exp-{self.id}-{self.revision}"'

    def is_serving(self, now: datetime) -> bool:
        """Running and not past its planned end (after which everyone gets control)."""
        return self.status == "running" and (self.ends_at is None or now < self.ends_at)

    def as_dict(self) -> dict[str, Any]:
        namespace = None
        if self.namespace is not None:
            namespace = {"name": self.namespace.name, "range": [self.namespace.start, self.namespace.end]}
        return {
            "key": self.key, "status": self.status, "seed": self.seed, "hash_version": self.hash_version,
            "coverage": self.coverage, "namespace": namespace, "hypothesis": self.hypothesis,
            "variants": [{"key": v.key, "weight": v.weight, "layout_version": v.layout_version} for v in self.variants],
            "page": self.page, "marketplace": self.marketplace, "audience": self.audience,
            "metrics": self.metrics or definition.DEFAULT_METRICS, "phase": self.phase, "revision": self.revision,
            "started_at": iso(self.started_at), "ended_at": iso(self.ended_at), "ends_at": iso(self.ends_at),
        }  # fmt: skip


def iso(moment: datetime | None) -> str | None:
    """UTC times as the API writes them: ISO 8601 with a Z."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def create_experiment(session: Session, page: pages.PageInfo, body: dict[str, Any], actor: str) -> ExperimentInfo:
    """A draft experiment on `page`; variants point at the page's saved versions, control first."""
    parsed = definition.parse(body, audience_service.known_keys(session))
    problems = parsed.problems + _missing_versions(session, page, parsed.values.get("variants", []))
    if problems:
        raise ValidationFailed("the experiment is not valid", problems)
    values = parsed.values
    namespace = values.get("namespace")
    row = Experiment(key=values["key"], page_id=page.id, hypothesis=values.get("hypothesis", ""),
                     seed=values.get("seed") or values["key"], hash_version=values.get("hash_version", 2),
                     coverage=values.get("coverage", 1.0), audience=values.get("audience"),
                     metrics=values.get("metrics") or definition.DEFAULT_METRICS, ends_at=values.get("ends_at"),
                     **_namespace_columns(namespace))  # fmt: skip
    session.add(row)
    try:
        session.flush()
        _write_variants(session, row.id, values["variants"])
        audit.record(session, actor, "experiment_created", f"{page.marketplace}/{page.slug}", experiment=row.key)
        session.flush()
    except IntegrityError as exc:
        session.rollback()  # the unit of work cannot go on after a failed flush
        raise Conflict(f"an experiment '{values['key']}' exists already") from exc
    return get_experiment(session, row.key)


def _namespace_columns(namespace: Namespace | None) -> dict[str, Any]:
    if namespace is None:
        return {"namespace": None, "namespace_start": None, "namespace_end": None}
    return {"namespace": namespace.name, "namespace_start": namespace.start, "namespace_end": namespace.end}


def _write_variants(session: Session, experiment_id: int, variants: list[VariantInfo]) -> None:
    for position, v in enumerate(variants):
        session.add(ExperimentVariant(experiment_id=experiment_id, position=position, key=v.key, weight=v.weight,
                                      layout_version=v.layout_version))  # fmt: skip


def _missing_versions(session: Session, page: pages.PageInfo, variants: list[VariantInfo]) -> list[dict[str, str]]:
    saved = set(session.scalars(select(LayoutVersion.number).where(LayoutVersion.page_id == page.id)))
    return [
        {"path": f"/variants/{i}/layout_version", "message": f"page {page.slug} has no version {v.layout_version}"}
        for i, v in enumerate(variants)
        if v.layout_version not in saved
    ]


def get_experiment(session: Session, key: str) -> ExperimentInfo:
    return _info(session, _row(session, key))


def list_experiments(session: Session, page_id: int | None = None) -> list[ExperimentInfo]:
    query = select(Experiment).order_by(Experiment.created_at.desc(), Experiment.id.desc())
    if page_id is not None:
        query = query.where(Experiment.page_id == page_id)
    return [_info(session, row) for row in session.scalars(query)]


def running_by_page(session: Session) -> dict[int, ExperimentInfo]:
    """Every running experiment by its page: the published-state snapshot's "experiments" part."""
    rows = session.scalars(select(Experiment).where(Experiment.status == "running").order_by(Experiment.id))
    return {row.page_id: _info(session, row) for row in rows}


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
    row.status, row.started_at, row.revision = "running", utcnow(), row.revision + 1
    started = _info(session, row)
    audit.record(session, actor, "experiment_started", _target(started), experiment=key)
    changes.record(session, ExperimentChanged(row.page_id))
    return started


def stop(session: Session, key: str, actor: str) -> ExperimentInfo:
    """The kill switch: from the next request on, everyone gets the published page (control)."""
    row = _row(session, key)
    if row.status != "running":
        raise Conflict(f"experiment '{key}' is {row.status}; only a running experiment can stop")
    row.status, row.ended_at, row.revision = "stopped", utcnow(), row.revision + 1
    stopped = _info(session, row)
    audit.record(session, actor, "experiment_stopped", _target(stopped), experiment=key)
    changes.record(session, ExperimentChanged(row.page_id))
    return stopped


def update_experiment(session: Session, key: str, body: dict[str, Any], if_match: str, actor: str) -> ExperimentInfo:
    """Edit a definition. A running experiment keeps its assignment unless `rerandomize` is true:
    then it starts a new phase (new seed unless one is given, fresh exposures), which is audited."""
    current = get_experiment(session, key)
    if if_match.strip() not in (current.etag, "W/" + current.etag):
        raise PreconditionFailed("the experiment changed since you loaded it; reload and try again")
    edits = {k: v for k, v in body.items() if k not in ("key", "rerandomize")}
    # The edited definition is checked whole, so a change that only breaks together with the
    # unchanged fields (a namespace range, weights against coverage) is refused too.
    parsed = definition.parse({**current.as_dict(), **edits, "key": key}, audience_service.known_keys(session))
    page = pages.get_page(session, current.page, current.marketplace)
    problems = parsed.problems + _missing_versions(session, page, parsed.values.get("variants", []))
    if problems:
        raise ValidationFailed("the experiment is not valid", problems)
    values = {k: v for k, v in parsed.values.items() if k in edits}
    is_rerandomized = _check_allowed(current, values, body.get("rerandomize") is True)
    _apply(session, current, values, is_rerandomized)
    details = {"fields": sorted(values)}
    if is_rerandomized:
        audit.record(session, actor, "experiment_rerandomized", _target(current), experiment=key,
                     phase=current.phase + 1, **details)  # fmt: skip
    else:
        audit.record(session, actor, "experiment_updated", _target(current), experiment=key, **details)
    changes.record(session, ExperimentChanged(current.page_id))
    return get_experiment(session, key)


def _check_allowed(current: ExperimentInfo, values: dict[str, Any], rerandomize: bool) -> bool:
    """Whether this edit re-randomizes; raises Conflict for edits the experiment's status forbids."""
    if current.status == "stopped":
        refused = sorted(set(values) - set(EDITABLE_WHEN_STOPPED))
        if refused:
            raise Conflict("a stopped experiment keeps its definition; only its hypothesis and metrics change",
                           [{"path": f"/{name}", "message": "cannot change after the experiment stopped"}
                            for name in refused])  # fmt: skip
        return False
    if current.status != "running":
        return False
    moved = [name for name in ASSIGNMENT_FIELDS if name in values and _differs(current, name, values[name])]
    if "coverage" in values and values["coverage"] < current.coverage:
        moved.append("coverage")  # lowering coverage would move included shoppers out
    if moved and not rerandomize:
        raise Conflict(
            "changing this while the experiment runs would move shoppers between variants; "
            'send "rerandomize": true to start a new phase with fresh assignments',
            [{"path": f"/{name}", "message": "refused while running unless re-randomized"} for name in moved],
        )
    return bool(moved) and rerandomize


def _differs(current: ExperimentInfo, name: str, value: Any) -> bool:
    if name == "variants":
        return tuple(value) != current.variants
    if name == "seed":  # an empty seed means "keep it"
        return value is not None and value != current.seed
    return bool(getattr(current, name) != value)


def _apply(session: Session, current: ExperimentInfo, values: dict[str, Any], is_rerandomized: bool) -> None:
    """One compare-and-swap UPDATE on the revision, so a concurrent edit cannot be overwritten."""
    named = ("hypothesis", "coverage", "hash_version", "audience", "metrics", "ends_at")
    columns: dict[str, Any] = {k: values[k] for k in named if k in values}
    if "seed" in values and values["seed"] is not None:
        columns["seed"] = values["seed"]
    if "namespace" in values:
        columns.update(_namespace_columns(values["namespace"]))
    if is_rerandomized:
        phase = current.phase + 1
        columns.update(phase=phase, started_at=utcnow())
        if "seed" not in columns or columns["seed"] == current.seed:
            columns["seed"] = f"{current.key}-phase-{phase}"
    done = session.execute(
        update(Experiment)
        .where(Experiment.id == current.id, Experiment.revision == current.revision)
        .values(revision=current.revision + 1, **columns)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise PreconditionFailed("someone else changed the experiment at the same moment; reload and try again")
    if "variants" in values:
        session.execute(
            cast(Table, ExperimentVariant.__table__).delete().where(ExperimentVariant.experiment_id == current.id)
        )
        _write_variants(session, current.id, values["variants"])


def _target(experiment: ExperimentInfo) -> str:
    """The audit log's target: the experiment's page."""
    return f"{experiment.marketplace}/{experiment.page}"


def exposures_per_day(session: Session, experiment: ExperimentInfo, now: datetime | None = None) -> float | None:
    """Average new shoppers a day so far in the current phase (the planner's traffic estimate)."""
    count = session.scalar(select(func.count()).select_from(Exposure).where(
        Exposure.experiment_id == experiment.id, Exposure.phase == experiment.phase))  # fmt: skip
    if not count or experiment.started_at is None:
        return None
    days = max(((now or utcnow()) - experiment.started_at).total_seconds() / 86400, 1.0)
    return float(count) / days


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
    page = session.get(Page, row.page_id)
    return ExperimentInfo(
        row.id, row.key, row.page_id, row.status, row.seed, row.hash_version, row.coverage, namespace,
        tuple(VariantInfo(v.key, v.weight, v.layout_version) for v in variants), row.hypothesis,
        page.slug if page else "", page.marketplace if page else "", row.audience, row.metrics or None,
        row.phase, row.revision, row.started_at, row.ended_at, row.ends_at,
    )  # fmt: skip


def ship(session: Session, key: str, variant_key: str, actor: str) -> tuple[ExperimentInfo, pages.PageInfo]:
    """Ship the winner: stop the experiment (if running) and publish the variant's layout
    version as an ordinary, gated and audited publish of the page."""
    experiment = get_experiment(session, key)
    variant = next((v for v in experiment.variants if v.key == variant_key), None)
    if variant is None:
        raise ValidationFailed("unknown variant", [{"path": "/variant", "message": "not a variant of this experiment"}])
    page = pages.get_page(session, experiment.page, experiment.marketplace)
    row = _row(session, key)
    if row.status == "running":  # stopped in the publish's transaction: both happen or neither
        row.status, row.ended_at, row.revision = "stopped", utcnow(), row.revision + 1
        audit.record(session, actor, "experiment_stopped", _target(experiment), experiment=key)
    audit.record(session, actor, "experiment_shipped", _target(experiment), experiment=key,
                 variant=variant_key, version=variant.layout_version)  # fmt: skip
    published = pages.publish(session, page, variant.layout_version, page.etag, actor)
    changes.record(session, ExperimentChanged(experiment.page_id))
    return get_experiment(session, key), published


def erase_shopper_exposures(session: Session, user_id: str) -> int:
    """The erasure hook (`shoppers.service.on_erase`): a shopper's exposures go with their other data."""
    deleted = session.execute(delete(Exposure).where(Exposure.user_id == user_id))
    return int(deleted.rowcount or 0)  # type: ignore[attr-defined]


def audience_usage(session: Session, audience_key: str) -> list[str]:
    """The usage hook (`layout_engine.audience_service.on_usage`): experiments targeting the audience."""
    return [
        f"experiment {k}" for k in session.scalars(select(Experiment.key).where(Experiment.audience == audience_key))
    ]


def register_hooks() -> None:
    """Experiments own exposures and their own audience column: tell the packages that need to
    know (erasure, 'which audiences are in use') without them importing experiments."""
    shopper_service.on_erase("exposures", erase_shopper_exposures)
    audience_service.on_usage("experiments", audience_usage)
