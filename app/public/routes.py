"""Public pages (no login): about ECHO and becoming a hub, the directory of hubs, a hub's
listing with the expression-of-interest form, and the sitemap; plus the hub lead's
listing settings."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from app.core import cache, clock
from app.core.errors import ServiceError
from app.core.forms import ConfirmForm, attach_error, perform
from app.core.pagination import clamp_page
from app.core.policy import PUBLIC, access
from app.extensions import limiter
from app.organisations.context import organisation_page
from app.organisations.policies import ORG_HUB_LEAD, ORG_VIEWER

from . import services
from .forms import DirectorySearchForm, HideListingForm, InterestForm, ListingForm
from .policies import LISTING, LISTING_MODERATOR, LISTING_VISITOR

bp = Blueprint("public", __name__)


def sections():
    return current_app.extensions["public"]


def _interest_limit():
    return current_app.config["INTEREST_LIMIT_PER_IP"]


@bp.route("/about")
@access(PUBLIC)
def about():
    return render_template(
        "public/about.html", sections=sections(), impact=services.impact(), full=True
    )


def _standalone(key: str):
    """One of the pages a public service owes, from `modules/_public/<key>.md`."""
    return render_template("public/page.html", page=sections()[key])


@bp.route("/privacy")
@access(PUBLIC)
def privacy():
    return _standalone("privacy")


@bp.route("/accessibility")
@access(PUBLIC)
def accessibility():
    return _standalone("accessibility")


@bp.route("/contact")
@access(PUBLIC)
def contact():
    return _standalone("contact")


@bp.route("/help")
@access(PUBLIC)
def help_page():
    return _standalone("help")


@bp.route("/hubs")
@access(PUBLIC)
def directory():
    # Visitors' pages are cached until a certificate, listing or listed organisation changes
    # (or the day does: certificates expire); see app/core/cache.py.
    return cache.for_visitors("directory", _render_directory, vary=clock.today())


def _render_directory():
    form = DirectorySearchForm(request.args)
    themes = services.themes()
    form.theme.choices = [("", "Any theme")] + [(t, t) for t in themes]
    form.validate()
    q = (form.q.data or "").strip() if not form.q.errors else ""
    theme = form.theme.data if form.theme.data in themes else ""
    nation = form.nation.data if not form.nation.errors else ""
    notes = []
    if form.theme.data and not theme:
        notes.append("No listed network has that theme, so the theme filter was left out.")
    if form.nation.errors:
        notes.append("That nation or region is not one we know, so it was left out.")
    page = clamp_page(request.args.get("page", 1, type=int))
    pagination = services.directory_page(q=q, theme=theme, nation=nation, page=page)
    return render_template(
        "public/directory.html",
        form=form,
        pagination=pagination,
        listings=pagination.items,
        notes=notes,
        filtered=bool(q or theme or nation),
        nation_label=services.nation_label,
    )


def _render_listing(found, form=None, status=200, sent=False):
    return render_template(
        "public/listing.html",
        found=found,
        form=form or InterestForm(),
        sent=sent,
        nation_label=services.nation_label,
    ), status


@bp.route("/hubs/<int:hub_id>")
@access(LISTING)
def hub_listing(hub_id: int):
    found = g.listing
    return _render_listing(found, sent=request.args.get("sent") == "1")


@bp.route("/hubs/<int:hub_id>/interest", methods=["POST"])
@access(LISTING_VISITOR)
@limiter.limit(_interest_limit)
def send_interest(hub_id: int):
    found = g.listing
    form = InterestForm()
    if form.validate_on_submit():
        if form.website.data:  # the honeypot: a person never sees this field
            form.form_errors.append(
                "Your message could not be sent. If you are a person, please email the hub."
            )
            return _render_listing(found, form, 400)
        try:
            services.send_interest(
                hub_id,
                services.Interest(
                    name=form.name.data,
                    email=form.email.data,
                    role=form.role.data or "",
                    organisation=form.organisation.data or "",
                    message=form.message.data or "",
                ),
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            return redirect(url_for("public.hub_listing", hub_id=hub_id, sent=1))
    return _render_listing(found, form, 400)


@bp.route("/sitemap.xml")
@access(PUBLIC)
def sitemap():
    urls = [
        url_for("public.home", _external=True),
        url_for("public.about", _external=True),
        url_for("public.directory", _external=True),
        url_for("public.help_page", _external=True),
        url_for("public.contact", _external=True),
        url_for("public.accessibility", _external=True),
        url_for("public.privacy", _external=True),
        url_for("certificates.verify_form", _external=True),
        url_for("auth.register", _external=True),
    ] + [
        url_for("public.hub_listing", hub_id=item.organisation.id, _external=True)
        for item in services.directory()
    ]
    response = current_app.make_response(render_template("public/sitemap.xml", urls=urls))
    response.mimetype = "application/xml"
    return response


@bp.route("/robots.txt")
@access(PUBLIC)
def robots():
    body = (
        "User-agent: *\nDisallow: /account/\nDisallow: /organisations/\nDisallow: /admin/\n"
        "Disallow: /audit/\nDisallow: /verify/\n"
        f"Sitemap: {url_for('public.sitemap', _external=True)}\n"
    )
    return current_app.response_class(body, mimetype="text/plain")


# --- the hub lead's listing and its moderation ------------------------------------------


def _render_settings(org, form=None, status=200, hide_form=None):
    status_now = services.listing_status(org)
    if form is None:
        record = status_now.record
        form = ListingForm(obj=record) if record else ListingForm()
        if record is None and org.application is not None:
            form.audience.data = org.application.target_audience  # a start, from the application
    return render_template(
        "public/listing_settings.html",
        form=form,
        listing=status_now,
        unpublish_form=ConfirmForm(prefix="unpublish"),
        hide_form=hide_form or HideListingForm(prefix="hide"),
        restore_form=ConfirmForm(prefix="restore"),
        can_moderate=any(current_user.has_role(r) for r in services.MODERATORS),
        expressions=services.expressions_for(org),
        **organisation_page(org),
    ), status


@bp.route("/organisations/<int:org_id>/listing")
@access(ORG_VIEWER)
def listing_settings(org_id: int):
    return _render_settings(g.organisation)


@bp.route("/organisations/<int:org_id>/listing", methods=["POST"])
@access(ORG_HUB_LEAD)
def save_listing(org_id: int):
    org = g.organisation
    form = ListingForm()
    if form.validate_on_submit():
        try:
            record = services.save_listing(
                org,
                by=current_user,
                text=services.ListingText(
                    summary=form.summary.data or "",
                    audience=form.audience.data or "",
                    session_rhythm=form.session_rhythm.data or "",
                    contact_email=form.contact_email.data or "",
                    join_url=form.join_url.data or "",
                ),
                publish=bool(form.publish.data),
            )
        except ServiceError as error:
            attach_error(form, error)
        else:
            if record.hidden_at is not None:
                message = (
                    "Listing saved. The superhub has hidden it, so the directory does not show it."
                )
            elif record.published:
                message = (
                    "Listing published: it is in the “Join a network” directory."
                    if form.publish.data
                    else "Listing saved: the directory shows the new version."
                )
            else:
                message = "Draft saved. It is not in the directory until you publish it."
            flash(message, "success")
            return redirect(url_for("public.listing_settings", org_id=org.id))
    return _render_settings(org, form, 400)


@bp.route("/organisations/<int:org_id>/listing/unpublish", methods=["POST"])
@access(ORG_HUB_LEAD)
def unpublish_listing(org_id: int):
    org = g.organisation
    if ConfirmForm(prefix="unpublish").validate_on_submit():
        perform(
            lambda: services.unpublish_listing(org, by=current_user),
            "Listing unpublished: it is no longer in the directory. What it says is kept.",
        )
    return redirect(url_for("public.listing_settings", org_id=org.id))


@bp.route("/organisations/<int:org_id>/listing/hide", methods=["POST"])
@access(LISTING_MODERATOR)
def hide_listing(org_id: int):
    org = g.organisation
    form = HideListingForm(prefix="hide")
    if form.validate_on_submit():
        try:
            services.hide_listing(org, by=current_user, reason=form.reason.data)
        except ServiceError as error:
            attach_error(form, error)
        else:
            flash(
                f"{org.name}'s listing is hidden from the directory; its hub lead is told.",
                "success",
            )
            return redirect(url_for("public.listing_settings", org_id=org.id))
    return _render_settings(org, status=400, hide_form=form)


@bp.route("/organisations/<int:org_id>/listing/restore", methods=["POST"])
@access(LISTING_MODERATOR)
def restore_listing(org_id: int):
    org = g.organisation
    if ConfirmForm(prefix="restore").validate_on_submit():
        perform(
            lambda: services.restore_listing(org, by=current_user),
            lambda record: (
                "The listing is no longer hidden"
                + (
                    " and shows in the directory again."
                    if record.published
                    else "; it is not published."
                )
            ),
        )
    return redirect(url_for("public.listing_settings", org_id=org.id))


@bp.route("/")
@access(PUBLIC)
def home():
    organisations = []
    queue_size = 0
    evaluations = []
    if not current_user.is_authenticated:
        from app.public import services as public_services

        return render_template(
            "public/about.html",
            sections=current_app.extensions["public"],
            impact=public_services.impact(),
            full=False,
        )
    invitations = []
    if not current_user.email_verified:
        # An unconfirmed account sees no organisation, only how to confirm its address.
        return render_template("public/home.html", user=current_user, unverified=True)
    if current_user.is_authenticated:
        from app.immersion.services import pending_evaluations

        evaluations = pending_evaluations(current_user)
        from app.organisations import services as organisation_services

        organisations = organisation_services.organisations_of(current_user)
        invitations = organisation_services.invitations_waiting_for(current_user)
        if current_user.has_role("trainer"):
            queue_size = organisation_services.stage_counts()["submitted"]
    return render_template(
        "public/home.html",
        user=current_user,
        organisations=organisations,
        invitations=invitations,
        queue_size=queue_size,
        evaluations=evaluations,
        unverified=False,
    )
