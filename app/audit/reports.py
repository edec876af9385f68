"""Programme reports for trainers and auditors: figures computed from the data, each shown
as a server-rendered SVG bar chart with a table alternative."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from app.certificates.models import Certificate
from app.extensions import db
from app.organisations import journey
from app.organisations import services as org_services
from app.organisations.models import Organisation, StageChange


@dataclass
class Bar:
    label: str
    value: float
    note: str = ""  # the table's extra column, e.g. "12 of 20"


@dataclass
class Chart:
    key: str
    title: str
    unit: str  # shown after each value: "", "%", " days"
    bars: list[Bar]
    summary: str = ""
    columns: tuple[str, str] = ("", "Value")
    maximum: float | None = None  # the scale's end (100 for percentages)

    @property
    def scale(self) -> float:
        top = self.maximum or max((b.value for b in self.bars), default=0)
        return top or 1


@dataclass
class Reports:
    charts: list[Chart] = field(default_factory=list)
    approvals: list[tuple[Organisation, datetime, datetime, int]] = field(default_factory=list)


def _stages() -> Chart:
    counts = org_services.stage_counts()
    bars = [Bar(label, counts.get(stage, 0)) for stage, label in journey.STAGES.items()]
    return Chart(
        "stages",
        "Organisations per stage",
        "",
        bars,
        f"{sum(counts.values())} organisations in all.",
        ("Stage", "Organisations"),
    )


def _approval_times() -> tuple[Chart, list]:
    """Days from the first submission to approval, per approved organisation."""
    changes = db.session.execute(
        select(StageChange.organisation_id, StageChange.to_stage, StageChange.changed_at)
        .where(StageChange.to_stage.in_(("submitted", "approved")))
        .order_by(StageChange.changed_at)
    ).all()
    first: dict[int, dict[str, datetime]] = defaultdict(dict)
    for org_id, stage, when in changes:
        first[org_id].setdefault(stage, when)
    pairs = {
        org_id: (s["submitted"], s["approved"])
        for org_id, s in first.items()
        if "submitted" in s and "approved" in s
    }
    orgs = {
        o.id: o
        for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(pairs or [0])))
    }
    rows = sorted(
        (
            (orgs[org_id], submitted, approved, (approved - submitted).days)
            for org_id, (submitted, approved) in pairs.items()
            if org_id in orgs
        ),
        key=lambda r: r[2],
    )
    days = [r[3] for r in rows]
    summary = (
        f"Median {statistics.median(days):g} days from first submission to approval "
        f"({len(days)} organisations)."
        if days
        else "No organisation has been approved yet."
    )
    chart = Chart(
        "approval-time",
        "Days from submission to approval",
        " days",
        [Bar(org.name, d) for org, _s, _a, d in rows],
        summary,
        ("Organisation", "Days"),
    )
    return chart, rows


def _modules() -> Chart:
    from app.training.services import curriculum, programme_overview

    _rows, per_module, _per_org = programme_overview()
    titles = {m.slug: m.title for m in curriculum().modules}
    bars = [
        Bar(titles[slug], round(100 * done / total) if total else 0, f"{done} of {total}")
        for slug, (done, total) in per_module.items()
    ]
    return Chart(
        "modules",
        "Module completion (required completions, organisations in training)",
        "%",
        bars,
        "Share of team members who must complete each module and have done so.",
        ("Module", "Completed"),
        100,
    )


def _immersion() -> Chart:
    from app.immersion.models import ImmersionCohort
    from app.immersion.services import attendance_grid

    bars = []
    for cohort in db.session.scalars(select(ImmersionCohort).order_by(ImmersionCohort.id)):
        _attendees, sessions, _records, summaries = attendance_grid(cohort)
        if not sessions or not summaries:
            continue
        met = sum(1 for s in summaries.values() if s.met)
        bars.append(
            Bar(cohort.title, round(100 * met / len(summaries)), f"{met} of {len(summaries)}")
        )
    return Chart(
        "immersion",
        "Immersion: attendees who met the attendance threshold",
        "%",
        bars,
        "Per cohort, the share of booked attendees whose attendance met the threshold.",
        ("Cohort", "Met the threshold"),
        100,
    )


def _certificates() -> Chart:
    issued = db.session.execute(select(Certificate.issued_at, Certificate.kind)).all()
    per_quarter: Counter = Counter()
    for when, _kind in issued:
        per_quarter[f"{when.year} Q{(when.month - 1) // 3 + 1}"] += 1
    bars = [Bar(quarter, per_quarter[quarter]) for quarter in sorted(per_quarter)]
    return Chart(
        "certificates",
        "Certificates issued per quarter",
        "",
        bars,
        f"{len(issued)} certificates issued in all (hub and trainee, including re-issues).",
        ("Quarter", "Certificates"),
    )


def build() -> Reports:
    approval_chart, approvals = _approval_times()
    return Reports(
        charts=[_stages(), approval_chart, _modules(), _immersion(), _certificates()],
        approvals=approvals,
    )
