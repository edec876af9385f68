"""Readiness pages: the panel, agreements, checklist items, evidence downloads, review queue."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_login import current_user

from app.core.boundary import refused
from app.core.errors import ServiceError
from app.core.forms import ConfirmForm, attach_error
from app.core.inputs import parse_id
from app.core.policy import access, roles
from app.core.storage import send_stored_row
from app.organisations import services as org_services
from app.organisations.context import organisation_page
from app.organisations.policies import ORG_HUB_LEAD, ORG_VIEWER
from app.readiness import services
from app.readiness.facts import current_templates
from app.readiness.forms import (
    AgreementForm,
    AgreementReviewForm,
    AnswerForm,
    CommentForm,
    ItemReviewForm,
)
from app.readiness.models import AGREEMENT_KINDS
from app.readiness.policies import (
    AGREEMENT_REVIEW,
    AGREEMENT_TEMPLATE,
    AGREEMENT_UPLOAD,
    EVIDENCE_VIEWER,
    ITEM_TRAINER,
    ITEM_VIEWER,
)

bp = Blueprint("readiness", __name__)


def _int_or_none(value) -> int | None:
    if value in (None, "", "none"):
        return None
    return parse_id(value) or -1  # not an id: matches nothing, treated as a stale form


def _context(org, **extra):
    return organisation_page(org, editable=org.stage in services.EDITABLE_STAGES, **extra)


def _render_panel(org, status=200, agreement_forms=None, review_forms=None):
    agreements = services.current_agreements(org)
    agreement_forms = agreement_forms or {}
    review_forms = review_forms or {}
    for kind, current in agreements.items():
        if kind not in agreement_forms:
            agreement_forms[kind] = AgreementForm(
                prefix=kind, based_on=str(current.id) if current else "none"
            )
        if current is not None and kind not in review_forms:
            review_forms[kind] = AgreementReviewForm(
                prefix=f"review-{kind}", agreement_id=str(current.id)
            )
    return render_template(
        "readiness/panel.html",
        requirements=services.requirements(org),
        agreements=agreements,
        agreement_forms=agreement_forms,
        review_forms=review_forms,
        kinds=AGREEMENT_KINDS,
        templates=current_templates(),
        history=services.agreement_history(org),
        items=services.checklist().items,
        answers=services.current_answers(org),
        submit_form=ConfirmForm(),
        **_context(org),
    ), status


@bp.route("/organisations/<int:org_id>/readiness")
@access(ORG_VIEWER)
def show_readiness(org_id: int):
    return _render_panel(g.organisation)


@bp.route("/organisations/<int:org_id>/agreements/<kind>", methods=["POST"])
@access(AGREEMENT_UPLOAD)
def upload_agreement(org_id: int, kind: str):
    org = g.organisation
    form = AgreementForm(prefix=kind)
    if form.validate_on_submit():
        try:
            services.upload_agreement(
                org,
                by=current_user,
                kind=kind,
                upload=form.file.data,
                signatory_name=form.signatory_name.data,
                signatory_role=form.signatory_role.data,
                signed_on=form.signed_on.data,
                based_on=_int_or_none(form.based_on.data),
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash(f"{AGREEMENT_KINDS[kind]} uploaded. A trainer will verify it.", "success")
            return redirect(url_for("readiness.show_readiness", org_id=org.id) + "#agreements")
    return _render_panel(org, 400, agreement_forms={kind: form})


@bp.route("/organisations/<int:org_id>/agreements/<kind>/template")
@access(AGREEMENT_TEMPLATE)
def download_agreement_template(org_id: int, kind: str):
    template = g.agreement_template
    return send_stored_row(template)


@bp.route("/organisations/<int:org_id>/agreements/<kind>/review", methods=["POST"])
@access(AGREEMENT_REVIEW)
def review_agreement(org_id: int, kind: str):
    org = g.organisation
    form = AgreementReviewForm(prefix=f"review-{kind}")
    if form.validate_on_submit():
        try:
            agreement = services.review_agreement(
                org,
                by=current_user,
                agreement_id=_int_or_none(form.agreement_id.data),
                decision=form.decision.data,
                reason=form.reason.data,
                kind=kind,
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash(f"{agreement.kind_label}: {agreement.status_label.lower()}.", "success")
            return redirect(url_for("readiness.show_readiness", org_id=org.id) + "#agreements")
    return _render_panel(org, 400, review_forms={kind: form})


def _render_item(org, item, status=200, answer_form=None, review_form=None, comment_form=None):
    answers, comments = services.item_history(org, item.key)
    current = answers[0] if answers else None
    return render_template(
        "readiness/item.html",
        item=item,
        current=current,
        answers=answers,
        comments=comments,
        can_answer=services.can_answer(current_user, org, item),
        answer_form=answer_form or AnswerForm(based_on=str(current.id) if current else "none"),
        review_form=review_form or ItemReviewForm(answer_id=str(current.id) if current else ""),
        comment_form=comment_form or CommentForm(),
        **_context(org),
    ), status


@bp.route("/organisations/<int:org_id>/checklist/<item_key>")
@access(ITEM_VIEWER)
def show_item(org_id: int, item_key: str):
    return _render_item(g.organisation, g.checklist_item)


@bp.route("/organisations/<int:org_id>/checklist/<item_key>", methods=["POST"])
@access(ITEM_VIEWER)
def submit_answer(org_id: int, item_key: str):
    org = g.organisation
    item = g.checklist_item
    if not services.can_answer(current_user, org, item):
        abort(403)
    form = AnswerForm()
    if form.validate_on_submit():
        given = services.AnswerInput(
            text=form.note.data if item.kind != "text" else form.text.data,
            date_value=form.date_value.data,
            attested_by_name=form.attested_by_name.data,
            attested_by_role=form.attested_by_role.data,
            confirmed=bool(form.confirmed.data),
            upload=form.file.data,
        )
        try:
            services.submit_answer(
                org,
                by=current_user,
                item_key=item.key,
                based_on=_int_or_none(form.based_on.data),
                given=given,
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash(f"“{item.title}” submitted for review.", "success")
            return redirect(url_for("readiness.show_item", org_id=org.id, item_key=item.key))
    return _render_item(org, item, 400, answer_form=form)


@bp.route("/organisations/<int:org_id>/checklist/<item_key>/review", methods=["POST"])
@access(ITEM_TRAINER)
def review_item(org_id: int, item_key: str):
    org = g.organisation
    item = g.checklist_item
    form = ItemReviewForm()
    if form.validate_on_submit():
        try:
            answer = services.review_answer(
                org,
                by=current_user,
                item_key=item.key,
                answer_id=_int_or_none(form.answer_id.data),
                decision=form.decision.data,
                comment=form.comment.data,
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash(f"“{item.title}”: {answer.status_label.lower()}.", "success")
            return redirect(url_for("readiness.show_item", org_id=org.id, item_key=item.key))
    return _render_item(org, item, 400, review_form=form)


@bp.route("/organisations/<int:org_id>/checklist/<item_key>/comments", methods=["POST"])
@access(ITEM_VIEWER)
def add_comment(org_id: int, item_key: str):
    org = g.organisation
    item = g.checklist_item
    if current_user.has_role("auditor") and not org_services.membership_of(current_user, org.id):
        abort(403)  # auditors read, they do not take part
    form = CommentForm()
    if form.validate_on_submit():
        try:
            services.add_comment(org, by=current_user, item_key=item.key, body=form.body.data)
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash("Comment posted.", "success")
            return redirect(
                url_for("readiness.show_item", org_id=org.id, item_key=item.key) + "#thread"
            )
    return _render_item(org, item, 400, comment_form=form)


@bp.route("/organisations/<int:org_id>/readiness/submit", methods=["POST"])
@access(ORG_HUB_LEAD)
def submit_for_review(org_id: int):
    org = g.organisation
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            services.submit_for_review(org, by=current_user)
        except ServiceError as error:
            refused(error)
            return _render_panel(org, 400)
        flash(
            f"{org.name} is submitted for readiness review. The trainers have been told.", "success"
        )
    return redirect(url_for("readiness.show_readiness", org_id=org.id))


@bp.route("/evidence/<int:file_id>")
@access(EVIDENCE_VIEWER)
def download_evidence(file_id: int):
    evidence = g.evidence
    if current_user.has_role("auditor"):  # an auditor's download is itself on the record
        from app.core import audit

        audit.record(
            "evidence.downloaded",
            subject=evidence,
            organisation_id=evidence.organisation_id,
            details={"file": evidence.original_name, "sha256": evidence.sha256},
        )
    return send_stored_row(evidence)


@bp.route("/readiness/queue")
@access(roles("trainer"))
def review_queue():
    return render_template("readiness/queue.html", queue=services.review_queue())
