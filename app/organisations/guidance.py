""" "What happens next" on the organisation overview: one clear next step, with the link or
button to take it, and what else is outstanding, worked out from the organisation's stage
and the live facts other areas own.

The rules are not repeated here: in training, the step is read from the readiness
requirements (`readiness.services.requirements`, each with its structured gaps); after
approval, from the directory listing's status (`public.services.listing_status`); before
that, from the application's missing parts and the team's composition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import url_for

from app.core.filters import format_date
from app.core.programme import HUB_ROLES, role_in_prose
from app.organisations.access import is_hub_lead, membership_of
from app.organisations.application import parts_complete
from app.organisations.models import Organisation, Stage
from app.organisations.team import team_composition


@dataclass(frozen=True)
class Action:
    """The button or link to the next step. `form` names a POST the overview renders as a
    button (only `submit_for_review` today); otherwise `url` is a plain link."""

    label: str
    url: str
    form: str = ""


@dataclass(frozen=True)
class NextStep:
    headline: str
    detail: str = ""
    action: Action | None = None
    more: tuple[Action, ...] = ()  # secondary links
    outstanding: list[str] = field(default_factory=list)
    outstanding_title: str = "Still outstanding"
    waiting: bool = False  # nothing for the organisation to do but wait for the superhub
    requirements: list | None = None  # in training: the readiness requirements shown


def next_step(org: Organisation, viewer) -> NextStep:
    """The next step for `org` as `viewer` (a member, its hub lead, or superhub staff) sees it."""
    lead = is_hub_lead(viewer, org)
    member = membership_of(viewer, org.id) is not None
    build = {
        Stage.DRAFT: _draft,
        Stage.SUBMITTED: _submitted,
        Stage.IN_TRAINING: _in_training,
        Stage.READINESS_REVIEW: _in_review,
        Stage.APPROVED: _approved,
        Stage.LAUNCHED: _launched,
    }.get(org.stage)
    if build is None:  # rejected, withdrawn: the page shows the status, nothing comes next
        return NextStep(headline="")
    return build(org, viewer=viewer, lead=lead, member=member)


def _whose(org: Organisation, member: bool) -> str:
    return "Your" if member else f"{org.name}'s"


def _team_note(org: Organisation, member: bool) -> str | None:
    composition = team_composition(org)
    if composition.complete:
        return None
    roles = ", ".join(role_in_prose(r) for r in composition.missing)
    return (
        f"{_whose(org, member)} team has no {roles} yet (the programme asks for at least "
        f"one of each of {', '.join(HUB_ROLES[r] for r in composition.required)})."
    )


# --- before training -----------------------------------------------------------------------


def _draft(org, *, viewer, lead, member) -> NextStep:
    parts = parts_complete(org.application)
    done = sum(1 for _title, complete in parts if complete)
    to_do = [title for title, complete in parts if not complete]
    application = url_for("organisations.show_application", org_id=org.id)
    team = url_for("organisations.show_team", org_id=org.id)
    outstanding = [f"Application: {title} (to do)" for title in to_do]
    note = _team_note(org, member)
    if note:
        outstanding.append(
            note + " You can submit without it, but the trainers who screen the "
            "application will see that the team is incomplete."
        )
    if org.changes_requested:
        headline = "The superhub asked for changes: update the application and submit it again."
        label = "Continue the application"
    elif to_do:
        headline = (
            f"Complete the application ({done} of {len(parts)} parts done), then submit it "
            "for screening."
        )
        label = "Continue the application" if done else "Start the application"
    else:
        headline = "The application is complete: submit it for screening."
        label = "Review and submit the application"
    if not lead:
        headline = headline.replace(
            "Complete the application", "The hub lead completes the application"
        )
    return NextStep(
        headline=headline,
        detail="A superhub trainer then screens it: they accept it into the training "
        "programme or ask for changes.",
        action=Action(label, application) if lead else None,
        more=(Action("Build the team", team),) if lead else (),
        outstanding=outstanding,
    )


def _submitted(org, *, viewer, lead, member) -> NextStep:
    submitted = org.application.submitted_at
    note = _team_note(org, member)
    return NextStep(
        headline="Waiting for the superhub to screen the application"
        + (f" (submitted on {format_date(submitted)})." if submitted else "."),
        detail=f"Your application was submitted on {format_date(submitted)}. A superhub "
        "trainer is reviewing it and will reply by email: they accept it into the programme, "
        "or ask for changes."
        if submitted and member
        else "",
        action=Action(
            "Screen the application", url_for("organisations.screen_application", org_id=org.id)
        )
        if viewer.has_role("trainer")
        else None,
        more=(Action("Build the team", url_for("organisations.show_team", org_id=org.id)),)
        if lead and note
        else (),
        outstanding=[note + " The team can be completed while you wait."] if note else [],
        waiting=True,
    )


# --- in training: from the readiness requirements ---------------------------------------------


def _in_training(org, *, viewer, lead, member) -> NextStep:
    from app.readiness import services as readiness
    from app.readiness.models import AGREEMENT_KINDS
    from app.readiness.services import GapState

    requirements = readiness.requirements(org)
    by_key = {r.key: r for r in requirements}
    panel = url_for("readiness.show_readiness", org_id=org.id)
    unmet = [r for r in requirements if not r.met]
    outstanding = [f"{r.title}: {r.summary}" for r in unmet]
    whose = _whose(org, member)

    def step(headline, action=None, detail="", waiting=False, more=()):
        return NextStep(
            headline=headline,
            detail=detail,
            action=action,
            more=more,
            outstanding=outstanding,
            outstanding_title=f"{len(requirements) - len(unmet)} of {len(requirements)} "
            "readiness requirements met",
            waiting=waiting,
            requirements=requirements,
        )

    if not unmet:
        again = " again" if org.changes_requested else ""
        return step(
            f"All requirements are met: submit for readiness review{again}.",
            Action(
                "Submit for readiness review",
                url_for("readiness.submit_for_review", org_id=org.id),
                form="submit_for_review",
            )
            if lead
            else None,
            detail="Submitting asks the superhub to assess the organisation's readiness."
            + ("" if lead else " The hub lead submits it."),
        )

    # 1. What a trainer sent back comes first: it has a reason and someone waiting on it.
    for gap in by_key["agreements"].gaps:
        if gap.state == GapState.FIX:
            label = AGREEMENT_KINDS.get(gap.subject, gap.subject)
            return step(
                f"{whose} {label} was rejected: {gap.reason.rstrip('. ')} — upload a new "
                "signed copy.",
                Action("Upload a new signed copy", f"{panel}#agreements") if lead else None,
                detail="" if lead else "The hub lead uploads it on the Readiness tab.",
            )
    for gap in by_key["checklist"].gaps:
        if gap.state == GapState.FIX:
            item = readiness.checklist_item(gap.subject)
            title = item.title if item else gap.subject
            return step(
                f"A trainer asked for changes to “{title}”: update the answer and send it again.",
                Action(
                    "Open the item",
                    url_for("readiness.show_item", org_id=org.id, item_key=gap.subject),
                ),
            )

    # 2. Then what the organisation has still to do, in the order the journey needs it.
    agreements = by_key["agreements"]
    todo = [g for g in agreements.gaps if g.state == GapState.TODO]
    if todo:
        names = [AGREEMENT_KINDS.get(g.subject, g.subject) for g in todo]
        what = (
            "the two signed partnership agreements" if len(names) > 1 else f"the signed {names[0]}"
        )
        return step(
            f"Upload {what}.",
            Action("Upload the agreements", f"{panel}#agreements") if lead else None,
            detail="A trainer verifies each one; booking Immersion needs both verified."
            + ("" if lead else " The hub lead uploads them on the Readiness tab."),
        )
    team = by_key["team"]
    if not team.met:
        roles = [HUB_ROLES.get(g.subject, g.subject) for g in team.gaps]
        return step(
            f"{whose} team still needs: {', '.join(roles)}. Invite someone for each.",
            Action("Invite team members", url_for("organisations.show_team", org_id=org.id))
            if lead
            else None,
            detail="The programme asks for at least one of each role before readiness review.",
        )
    training = by_key["training"]
    if not training.met:
        mine = member and any(g.subject == str(viewer.id) for g in training.gaps)
        action = (
            Action("Go to my training", url_for("training.my_training"))
            if mine
            else Action("See who has done what", url_for("training.team_progress", org_id=org.id))
            if lead or not member
            else None
        )
        return step(
            f"Complete the required training modules: {training.summary}",
            action,
            detail="Still to finish: " + "; ".join(g.text for g in training.gaps) + ".",
        )
    immersion = by_key["immersion"]
    if not immersion.met and agreements.met:
        return step(
            "Immersion: book the team onto a cohort and attend its sessions.",
            Action("Go to Immersion", url_for("immersion.team_immersion", org_id=org.id)),
            detail=immersion.summary + " " + " ".join(g.text for g in immersion.gaps),
        )
    checklist = by_key["checklist"]
    todo = [g for g in checklist.gaps if g.state == GapState.TODO]
    if todo:
        return step(
            f"Answer the readiness checklist: {len(todo)} required "
            f"item{'' if len(todo) == 1 else 's'} still to answer.",
            Action("Open the checklist", f"{panel}#checklist-heading"),
            detail="Still to answer: "
            + "; ".join(g.text.removesuffix(": not answered") for g in todo)
            + ".",
        )

    # 3. Nothing left to do but wait for a trainer.
    waiting = [g.text for r in unmet for g in r.gaps if g.state == GapState.WAITING]
    if not immersion.met and not agreements.met:
        waiting.append("Immersion can be booked once both agreements are verified.")
    return step(
        "Waiting for a superhub trainer to review what you sent.",
        Action("Review it", panel) if viewer.has_role("trainer") else None,
        detail=" ".join(waiting),
        waiting=True,
    )


# --- after training ---------------------------------------------------------------------------


def _in_review(org, *, viewer, lead, member) -> NextStep:
    submitted = org.stage_changed_at
    return NextStep(
        headline=f"Waiting for the superhub to assess {org.name}'s readiness"
        + (f" (submitted on {format_date(submitted)})." if submitted else "."),
        detail="A trainer writes the assessment and a second trainer decides; the team is "
        "told by email.",
        action=Action("Assess it", url_for("assessment.organisation_assessment", org_id=org.id))
        if viewer.has_role("trainer")
        else None,
        waiting=True,
    )


def _listing_note(org, lead) -> tuple[str, str, Action | None]:
    """The listing's state, what the directory shows of the hub, and the link to change it."""
    from app.public import services as public

    status = public.listing_status(org)
    link = url_for("public.listing_settings", org_id=org.id)
    words = {
        "none": "Not in the “Join a network” directory: a hub appears there only once its hub "
        "lead writes and publishes a listing.",
        "draft": "The directory listing is saved as a draft and not published yet.",
        "hidden": "The directory listing is hidden by the superhub"
        + (f": {status.record.hidden_reason}" if status.record else "."),
        "listed": "Listed in the “Join a network” directory.",
        "unlisted": "The listing is published but not shown: the hub has no valid certificate.",
    }[status.state]
    if status.state in ("none", "draft"):
        label = "Write the directory listing" if status.state == "none" else "Finish the listing"
        return status.state, words, Action(label, link) if lead else None
    return status.state, words, Action("Directory listing", link) if lead else None


def _approved(org, *, viewer, lead, member) -> NextStep:
    certificates = url_for("certificates.organisation_certificates", org_id=org.id)
    launch = (
        "When your network's first ECHO session has happened, record its date on the "
        "Certificates tab."
        if lead
        else "The hub lead records the network's first ECHO session when it has happened."
    )
    state, words, listing = _listing_note(org, lead)
    if state in ("none", "draft"):
        return NextStep(
            headline=f"{org.name} is an approved ECHO hub: "
            + (
                "you can now publish its listing in the “Join a network” directory."
                if lead
                else "its hub lead can now publish a listing in the “Join a network” directory."
            ),
            detail="People looking for a network find it there and can ask to join. " + words,
            action=listing,
            more=(Action("Certificates and launch" if lead else "Certificates", certificates),),
            outstanding=[launch],
        )
    return NextStep(
        headline=f"{org.name} is an approved ECHO hub. The next step is your network's first "
        "ECHO session.",
        detail=launch,
        action=Action("Certificates and launch" if lead else "Certificates", certificates),
        more=(listing,) if listing else (),
        outstanding=[words],
        outstanding_title="Directory",
    )


def _launched(org, *, viewer, lead, member) -> NextStep:
    _state, words, listing = _listing_note(org, lead)
    first = (
        f": its first session was on {format_date(org.first_session_on)}"
        if org.first_session_on
        else ""
    )
    return NextStep(
        headline=f"{org.name} runs its own ECHO network{first}.",
        action=Action(
            "Certificates", url_for("certificates.organisation_certificates", org_id=org.id)
        ),
        more=(listing,) if listing else (),
        outstanding=[words],
        outstanding_title="Directory",
    )
