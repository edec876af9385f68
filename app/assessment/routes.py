"""Assessment pages: the organisation's assessment tab, one assessment, the decision queue."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_login import current_user

from app.core.boundary import refuse
from app.core.errors import ServiceError
from app.core.forms import attach_error
from app.core.policy import access, roles
from app.extensions import db
from app.organisations.context import organisation_page
from app.organisations.models import Organisation, Stage
from app.organisations.policies import ORG_STAFF, ORG_TRAINER
from app.readiness import services as readiness

from . import services
from .forms import DecisionForm, assessment_form
from .models import SCORE_LABELS
from .policies import ASSESSMENT_STAFF, ASSESSMENT_TRAINER

bp = Blueprint("assessment", __name__)


def _render_org(org, form=None, status=200):
    can_write = (
        current_user.has_role("trainer")
        and org.stage == Stage.READINESS_REVIEW
        and services.open_assessment(org) is None
    )
    return render_template(
        "assessment/organisation.html",
        requirements=readiness.requirements(org),
        assessments=services.assessments_for(org),
        pending=services.open_assessment(org),
        can_write=can_write,
        form=form or (assessment_form() if can_write else None),
        criteria=services.criteria(),
        field_name=services.field_name,
        **organisation_page(org),
    ), status


@bp.route("/organisations/<int:org_id>/assessment")
@access(ORG_STAFF)
def organisation_assessment(org_id: int):
    return _render_org(g.organisation)


@bp.route("/organisations/<int:org_id>/assessment", methods=["POST"])
@access(ORG_TRAINER)
def write_assessment(org_id: int):
    org = g.organisation
    form = assessment_form()
    if form.validate_on_submit():
        scores = {
            key: services.Score(
                key,
                int(form[services.field_name("score", key)].data),
                form[services.field_name("comment", key)].data or "",
            )
            for key, _title, _guidance in services.criteria()
        }
        try:
            assessment = services.write_assessment(
                org,
                by=current_user,
                scores=scores,
                overall_notes=form.overall_notes.data,
                recommendation=form.recommendation.data,
                changes_list=form.changes_list.data,
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash(
                {
                    "awaiting_decision": "Assessment saved. A second trainer must now decide "
                    "on approval.",
                    "changes_requested": f"Assessment saved. {org.name} is back in training "
                    "with the list of changes; its hub lead was told.",
                    "rejected": f"Assessment saved. {org.name} was rejected; "
                    "its hub lead was told.",
                }[assessment.status],
                "success",
            )
            return redirect(url_for("assessment.show_assessment", assessment_id=assessment.id))
    return _render_org(org, form=form, status=400)


def _render_assessment(assessment, form=None, status=200):
    allowed, why = services.may_decide(current_user, assessment)
    org = db.session.get(Organisation, assessment.organisation_id)
    from app.certificates.services import for_organisation

    certificate = next(
        (
            c
            for c in for_organisation(org)
            if c.assessment_id == assessment.id and c.issue_reason == "approval"
        ),
        None,
    )
    return render_template(
        "assessment/show.html",
        assessment=assessment,
        can_decide=allowed,
        why_not=why,
        form=form or (DecisionForm() if allowed else None),
        score_labels=SCORE_LABELS,
        certificate=certificate,
        **organisation_page(org),
    ), status


@bp.route("/assessments/<int:assessment_id>")
@access(ASSESSMENT_STAFF)
def show_assessment(assessment_id: int):
    return _render_assessment(g.assessment)


@bp.route("/assessments/<int:assessment_id>/decision", methods=["POST"])
@access(ASSESSMENT_TRAINER)
def decide(assessment_id: int):
    assessment = g.assessment
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            cert = services.decide(
                assessment, by=current_user, decision=form.decision.data, notes=form.notes.data
            )
        except ServiceError as error:
            refuse()
            db.session.refresh(assessment)
            attach_error(form, error)
        else:
            if cert is not None:
                flash(
                    f"Approved. Certificate {cert.serial} was issued and the hub lead was told.",
                    "success",
                )
                return redirect(
                    url_for("certificates.organisation_certificates", org_id=cert.organisation_id)
                )
            flash("The assessment was sent back. A trainer can now write a new one.", "success")
            return redirect(url_for("assessment.show_assessment", assessment_id=assessment.id))
    return _render_assessment(assessment, form=form, status=400)


@bp.route("/assessments")
@access(roles("trainer"))
def queue():
    return render_template(
        "assessment/queue.html",
        awaiting_decision=services.awaiting_decision(),
        awaiting_assessment=services.awaiting_assessment(),
    )
