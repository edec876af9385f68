"""Organisation pages: register, home with the journey, application, team, screening."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from app.core.boundary import refuse, refused
from app.core.errors import ServiceError
from app.core.forms import ConfirmForm, attach_error, perform
from app.core.policy import PUBLIC, access, roles
from app.core.programme import HUB_ROLES
from app.extensions import db
from app.organisations import guidance, journey, services
from app.organisations.context import organisation_page
from app.organisations.forms import (
    DECISIONS,
    ApplicationForm,
    DecisionForm,
    InviteForm,
    MemberRolesForm,
    OrganisationForm,
    WithdrawForm,
)
from app.organisations.models import NATIONS, Stage
from app.organisations.policies import (
    DECLINER,
    INVITATION_LEAD,
    JOINER,
    MEMBERSHIP_LEAD,
    MY_INVITATION,
    ORG_HUB_LEAD,
    ORG_TRAINER,
    ORG_VIEWER,
    PROGRAMME_STAFF_ONLY,
    SCREENING_READERS,
)

bp = Blueprint("organisations", __name__, url_prefix="/organisations")


def _org():
    return g.organisation


def _details(form: OrganisationForm) -> services.OrganisationDetails:
    return services.OrganisationDetails(
        name=form.name.data or "",
        org_type=form.org_type.data or "",
        nation=form.nation.data or "",
        registration_number=form.registration_number.data or "",
        other_country=form.other_country.data or "",
        address=form.address.data or "",
        website=form.website.data or "",
        phone=form.phone.data or "",
    )


# --- registering and editing -----------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@access(roles("applicant"))
def new_organisation():
    form = OrganisationForm()
    if form.validate_on_submit():
        try:
            org = services.create_organisation(current_user, _details(form))
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash(
                f"{org.name} is registered and you are its hub lead. Next: the application.",
                "success",
            )
            return redirect(url_for("organisations.show_organisation", org_id=org.id))
    status = 400 if form.is_submitted() else 200
    return render_template("organisations/new.html", form=form), status


@bp.route("/<int:org_id>/details", methods=["GET", "POST"])
@access(ORG_HUB_LEAD)
def edit_organisation(org_id: int):
    org = _org()
    form = OrganisationForm(obj=org)
    if form.validate_on_submit():
        try:
            services.update_organisation(org, by=current_user, details=_details(form))
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash("Organisation details saved.", "success")
            return redirect(url_for("organisations.show_organisation", org_id=org.id))
    status = 400 if form.is_submitted() else 200  # a refused change, like the other forms
    return render_template(
        "organisations/details.html", form=form, **organisation_page(org)
    ), status


# --- home and history ------------------------------------------------------------------


def _render_overview(org, withdraw_form=None, status=200):
    return render_template(
        "organisations/show.html",
        training=_training_summary(org),
        composition=services.team_composition(org),
        missing=services.missing_fields(org.application),
        parts=services.parts_complete(org.application),
        next_step=guidance.next_step(org, current_user),
        submit_form=ConfirmForm(),
        withdraw_form=withdraw_form or WithdrawForm(),
        open_stage=org.stage in journey.OPEN_STAGES,
        **organisation_page(org),
    ), status


@bp.route("/<int:org_id>")
@access(ORG_VIEWER)
def show_organisation(org_id: int):
    return _render_overview(_org())


def _training_summary(org):
    """(done, required) module completions across the team, once training has started."""
    from app.training import services as training_services

    if org.stage not in training_services.TRAINING_STAGES:
        return None
    rows = training_services.team_progress(services.team_members(org))
    return training_services.required_completion_rate(rows)


@bp.route("/<int:org_id>/history")
@access(ORG_VIEWER)
def show_history(org_id: int):
    org = _org()
    return render_template(
        "organisations/history.html", events=services.history(org), **organisation_page(org)
    )


@bp.route("/<int:org_id>/withdraw", methods=["POST"])
@access(ORG_HUB_LEAD)
def withdraw_organisation(org_id: int):
    org = _org()
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            services.withdraw(org, by=current_user, reason=form.reason.data)
        except ServiceError as error:
            refused(error)
        else:
            flash(f"{org.name} has been withdrawn from the programme.", "info")
        return redirect(url_for("organisations.show_organisation", org_id=org.id))
    return _render_overview(org, withdraw_form=form, status=400)


# --- the application -------------------------------------------------------------------


def _render_application(org, form, status=200, missing_shown=False):
    can_edit = services.is_hub_lead(current_user, org) and org.stage == Stage.DRAFT
    return render_template(
        "organisations/application.html",
        form=form,
        can_edit=can_edit,
        composition=services.team_composition(org),
        parts=services.parts_complete(org.application),
        application_parts=services.APPLICATION_PARTS,
        missing_shown=missing_shown,
        **organisation_page(org),
    ), status


@bp.route("/<int:org_id>/application")
@access(ORG_VIEWER)
def show_application(org_id: int):
    org = _org()
    return _render_application(org, ApplicationForm(obj=org.application))


@bp.route("/<int:org_id>/application", methods=["POST"])
@access(ORG_HUB_LEAD)
def save_application(org_id: int):
    org = _org()
    form = ApplicationForm()
    if not form.validate_on_submit():
        return _render_application(org, form, 400)
    data = {
        name: getattr(form, name).data
        for name in (*services.TEXT_FIELDS, "expected_spokes", "vc_licence", "intro_session_date")
    }
    try:
        services.save_application(org, by=current_user, data=data)
    except ServiceError as error:
        attach_error(form, error)
        return _render_application(org, form, 400)
    if not form.submit_application.data:
        flash("Draft saved. You can come back to it at any time.", "success")
        return redirect(url_for("organisations.show_application", org_id=org.id))
    missing = services.missing_fields(org.application)
    if missing:
        # Not a refusal: the boundary commits the draft, so what was typed is kept.
        for name, label in missing:
            getattr(form, name).errors = [f"{label} is needed before you submit."]
        form.form_errors.append(
            "Your draft is saved, but it cannot be submitted until these are filled in."
        )
        return _render_application(org, form, 400, missing_shown=True)
    try:
        services.submit_application(org, by=current_user)
    except ServiceError as error:
        attach_error(form, error)
        return _render_application(org, form, 400)
    flash(
        "Application submitted. The superhub's trainers have been told and will reply by email.",
        "success",
    )
    return redirect(url_for("organisations.show_organisation", org_id=org.id))


# --- the team --------------------------------------------------------------------------


def _render_team(org, invite_form=None, status=200, role_errors=None):
    from app.core.db import utcnow

    members = services.team_members(org)
    return render_template(
        "organisations/team.html",
        members=members,
        invitations=[i for i in org.invitations if i.is_open],
        now=utcnow(),
        composition=services.team_composition(org),
        invite_form=invite_form or InviteForm(),
        role_forms={
            m.id: MemberRolesForm(roles=sorted(m.roles), prefix=f"m{m.id}") for m in members
        },
        role_errors=role_errors or {},
        can_edit=services.is_hub_lead(current_user, org) and org.stage not in journey.CLOSED_STAGES,
        **organisation_page(org),
    ), status


@bp.route("/<int:org_id>/team")
@access(ORG_VIEWER)
def show_team(org_id: int):
    return _render_team(_org())


@bp.route("/<int:org_id>/team/invite", methods=["POST"])
@access(ORG_HUB_LEAD)
def invite_member(org_id: int):
    org = _org()
    form = InviteForm()
    if form.validate_on_submit():
        try:
            result = services.invite_member(
                org, by=current_user, email=form.email.data, roles=form.roles.data
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            # The same words whoever the address belongs to (or whether it has an account).
            flash(
                f"Invitation sent to {result.invitation.email}. They join the team once they "
                "accept it.",
                "success",
            )
            return redirect(url_for("organisations.show_team", org_id=org.id))
    return _render_team(org, invite_form=form, status=400)


@bp.route("/<int:org_id>/team/<int:membership_id>/roles", methods=["POST"])
@access(MEMBERSHIP_LEAD)
def change_member_roles(org_id: int, membership_id: int):
    org = _org()
    form = MemberRolesForm(prefix=f"m{membership_id}")
    if form.validate_on_submit():
        try:
            membership = services.change_member_roles(
                org, by=current_user, membership_id=membership_id, roles=form.roles.data
            )
        except ServiceError as error:
            refuse()
            return _render_team(org, status=400, role_errors={membership_id: error.message})
        flash(f"Roles for {membership.user.name} saved.", "success")
    return redirect(url_for("organisations.show_team", org_id=org.id))


@bp.route("/<int:org_id>/team/<int:membership_id>/remove", methods=["POST"])
@access(MEMBERSHIP_LEAD)
def remove_member(org_id: int, membership_id: int):
    org = _org()
    perform(
        lambda: services.remove_member(org, by=current_user, membership_id=membership_id),
        "Removed from the team.",
    )
    return redirect(url_for("organisations.show_team", org_id=org.id))


@bp.route("/<int:org_id>/invitations/<int:invitation_id>/resend", methods=["POST"])
@access(INVITATION_LEAD)
def resend_invitation(org_id: int, invitation_id: int):
    org = _org()
    perform(
        lambda: services.resend_invitation(org, by=current_user, invitation_id=invitation_id),
        lambda inv: f"A new link was sent to {inv.email}; the old one no longer works.",
    )
    return redirect(url_for("organisations.show_team", org_id=org.id))


@bp.route("/<int:org_id>/invitations/<int:invitation_id>/cancel", methods=["POST"])
@access(INVITATION_LEAD)
def cancel_invitation(org_id: int, invitation_id: int):
    org = _org()
    perform(
        lambda: services.cancel_invitation(org, by=current_user, invitation_id=invitation_id),
        lambda inv: f"The invitation to {inv.email} is cancelled.",
    )
    return redirect(url_for("organisations.show_team", org_id=org.id))


@bp.route("/invitations/<token>")
@access(PUBLIC)
def show_invitation(token: str):
    try:
        invitation = services.invitation_for_token(token)
    except ServiceError as error:
        return render_template("organisations/invitation_invalid.html", message=error.message), 400
    conflict = services.staff_conflict(current_user) if current_user.is_authenticated else None
    return render_template(
        "organisations/invitation.html",
        invitation=invitation,
        hub_roles=HUB_ROLES,
        token=token,
        conflict=conflict,
    )


@bp.route("/invitations/<token>", methods=["POST"])
@access(JOINER)
def accept_invitation(token: str):
    try:
        membership = services.accept_invitation(token, user=current_user)
    except ServiceError as error:
        refused(error)
        return redirect(url_for("organisations.show_invitation", token=token))
    flash(f"Welcome to {membership.organisation.name}'s hub team.", "success")
    return redirect(url_for("organisations.show_organisation", org_id=membership.organisation_id))


@bp.route("/invitations/<token>/decline", methods=["POST"])
@access(DECLINER)
def decline_invitation(token: str):
    try:
        invitation = services.decline_invitation(token, user=current_user)
    except ServiceError as error:  # the link is no longer open: nothing to decline
        refuse()
        return render_template("organisations/invitation_invalid.html", message=error.message), 400
    flash(
        f"You declined the invitation to {invitation.organisation.name}'s hub team. "
        "The hub lead has been told.",
        "info",
    )
    return redirect(url_for("public.home"))


@bp.route("/my-invitations/<int:invitation_id>/accept", methods=["POST"])
@access(MY_INVITATION)
def accept_my_invitation(invitation_id: int):
    try:
        membership = services.accept_invitation_for(invitation_id, user=current_user)
    except ServiceError as error:
        refused(error)
        return redirect(url_for("public.home"))
    flash(f"Welcome to {membership.organisation.name}'s hub team.", "success")
    return redirect(url_for("organisations.show_organisation", org_id=membership.organisation_id))


@bp.route("/my-invitations/<int:invitation_id>/decline", methods=["POST"])
@access(MY_INVITATION)
def decline_my_invitation(invitation_id: int):
    try:
        invitation = services.decline_invitation_for(invitation_id, user=current_user)
    except ServiceError as error:
        refused(error)
    else:
        flash(
            f"You declined the invitation to {invitation.organisation.name}'s hub team. "
            "The hub lead has been told.",
            "info",
        )
    return redirect(url_for("public.home"))


# --- trainers: lists, queue, screening -------------------------------------------------


@bp.route("")
@access(SCREENING_READERS)
def list_organisations():
    q = request.args.get("q", "")[:200]
    stage = request.args.get("stage", "")
    nation = request.args.get("nation", "")
    sort = request.args.get("sort", "activity")
    page = services.search_organisations(
        q=q, stage=stage, nation=nation, sort=sort, page=request.args.get("page", 1, type=int)
    )
    return render_template(
        "organisations/list.html",
        pagination=page,
        counts=services.stage_counts(),
        stages=journey.STAGES,
        nations=NATIONS,
        filters={"q": q, "stage": stage, "nation": nation, "sort": sort},
    )


@bp.route("/queue")
@access(PROGRAMME_STAFF_ONLY)
def screening_queue():
    return render_template(
        "organisations/queue.html", queue=services.screening_queue(), age=services.age_in_days
    )


@bp.route("/<int:org_id>/screening")
@access(ORG_TRAINER)
def screen_application(org_id: int):
    org = _org()
    return _render_screening(org, DecisionForm())


def _render_screening(org, form, status=200):
    return render_template(
        "organisations/screening.html",
        form=form,
        members=services.team_members(org),
        composition=services.team_composition(org),
        application_parts=services.APPLICATION_PARTS,
        decisions=DECISIONS,
        age=services.age_in_days(org.application.submitted_at),
        events=services.history(org, limit=20),
        **organisation_page(org),
    ), status


@bp.route("/<int:org_id>/decision", methods=["POST"])
@access(ORG_TRAINER)
def decide_application(org_id: int):
    org = _org()
    form = DecisionForm()
    if not form.validate_on_submit():
        return _render_screening(org, form, 400)
    decide = {
        "accept": lambda: services.accept_application(org, by=current_user, note=form.message.data),
        "request_changes": lambda: services.request_changes(
            org, by=current_user, message=form.message.data
        ),
        "decline": lambda: services.decline_application(
            org, by=current_user, reason=form.message.data
        ),
    }[form.decision.data]
    try:
        decide()
    except ServiceError as error:
        refuse()
        db.session.refresh(org)
        attach_error(form, error)
        return _render_screening(org, form, 400)
    flash(
        f"Decision recorded for {org.name}: {DECISIONS[form.decision.data].lower()}. "
        "The hub lead has been emailed.",
        "success",
    )
    return redirect(url_for("organisations.screening_queue"))
