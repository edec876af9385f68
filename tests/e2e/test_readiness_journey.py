"""The readiness journey in Chromium: agreements, the checklist with evidence, trainer review.

An organisation in training whose team holds every required role and has completed every
required module (seeded through the training services). In the browser the hub lead
uploads both partnership agreements; a trainer verifies one and rejects the other with a
reason; the lead re-uploads and the trainer verifies it. The lead answers every checklist
item (written answers, dates, the attestation, PDF and PNG evidence); the trainer asks for
changes on one, the lead fixes it, the trainer accepts everything. The readiness panel then
shows every requirement met except Immersion attendance, and submitting stays disabled.
Every page shown is checked with axe-core.
"""

from __future__ import annotations

import re
import struct
import zlib
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.core import clock
from app.demo.files import one_page_pdf
from tests.e2e.helpers import flash, main_nav, nav_link, org_tab, requirement
from tests.e2e.test_journeys import log_in, open_login
from tests.factories.organisations import join_team

pytestmark = pytest.mark.e2e

REJECT_REASON = (
    "The Statement of Collaboration is unsigned on page 2. Please upload the signed copy."
)
CHANGES_COMMENT = "Please say how many spokes you expect at launch, and from which areas."
FIXED_PLAN = (
    "We will invite district nurses and care homes across the county through our community "
    "teams and the local care home forum, asking each spoke to present two cases a year. "
    "We expect 18 spokes at launch: 10 care homes and 8 district nursing teams."
)
IMMERSION_MISSING = "No Immersion attendance recorded yet"


# --- files -------------------------------------------------------------------------------


def make_pdf(path: Path, text: str) -> Path:
    """A small, valid one-page PDF showing `text`."""
    path.write_bytes(one_page_pdf(text, font_size=14))
    return path


def make_png(path: Path, width: int = 24, height: int = 16) -> Path:
    """A small, valid RGB PNG (a two-colour stripe)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(
        b"\x00" + (b"\x00\x5b\x8c" if y < height // 2 else b"\xf2\xc1\x4e") * width
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return path


# --- set-up through the services ----------------------------------------------------------


def team_in_training(live_app, create_account, org_name: str, *, train: bool = True):
    """An organisation in training: a hub lead and a member for each other required role.

    With `train`, every member completes every module their roles require (lessons read and
    the knowledge check passed, through the training services). Returns (org_id, lead,
    members) where lead and each member are (email, name, password).
    """
    from app.auth.services import get_user_by_email
    from app.extensions import db
    from app.organisations import services
    from app.readiness import services as readiness_services
    from app.training import services as training_services

    lead = create_account()
    members = {role: create_account() for role in ("coordinator", "facilitator", "specialist")}
    with live_app.test_request_context():
        lead_user = get_user_by_email(lead[0])
        org = services.create_organisation(
            lead_user,
            services.OrganisationDetails(name=org_name, org_type="hospice", nation="wales"),
        )
        for role, member in members.items():
            join_team(org, lead_user, get_user_by_email(member[0]), [role])
        org.stage = "in_training"
        db.session.flush()
        assert services.team_composition(org).complete
        if train:
            for row in training_services.team_progress(services.team_members(org)):
                user = row.membership.user
                for module in row.missing:
                    for lesson in module.lessons:
                        training_services.mark_read(user, module, lesson.slug)
                    right = {q.id: q.answers for q in module.check.questions}
                    training_services.submit_check(user, module, right)
            assert training_services.missing_required_modules(org) == {}
            status = {r.key: r.met for r in readiness_services.requirements(org)}
            assert status == {
                "agreements": False,
                "team": True,
                "training": True,
                "immersion": False,
                "checklist": False,
            }
        db.session.commit()
        org_id = org.id
        db.session.remove()
    return org_id, lead, members


def checklist_items(live_app):
    with live_app.app_context():
        from app.readiness.services import checklist

        return checklist().items


# --- page helpers ------------------------------------------------------------------------


def agreement_card(page: Page, label: str):
    return page.locator(".card").filter(has=page.get_by_role("heading", level=3, name=label))


def upload_agreement(page: Page, label: str, pdf: Path, name: str, role: str, signed: date):
    card = agreement_card(page, label)
    card.get_by_label("Signed document").set_input_files(pdf)
    card.get_by_label("Signed by (name)").fill(name)
    card.get_by_label("Signatory's role").fill(role)
    card.get_by_label("Date signed").fill(signed.isoformat())
    card.get_by_role("button", name=f"Upload {label}").click()
    expect(flash(page, f"{label} uploaded. A trainer will verify it.")).to_be_visible()


def review_agreement(page: Page, label: str, decision: str, reason: str = ""):
    card = agreement_card(page, label)
    card.get_by_role("group", name="Decision").get_by_label(decision, exact=True).check()
    if reason:
        card.get_by_label("Reason (required when rejecting)").fill(reason)
    card.get_by_role("button", name=f"Record decision on the {label}").click()


def open_queue(page: Page, assert_accessible):
    nav_link(page, "Evidence review").click()
    expect(page.get_by_role("heading", level=1, name="Evidence review")).to_be_visible()
    assert_accessible(page)


def queue_rows(page: Page, org_name: str):
    return page.get_by_role("table").get_by_role("row").filter(has_text=org_name)


def open_item(page: Page, org_id: int, item, assert_accessible):
    page.goto(f"/organisations/{org_id}/readiness")
    page.get_by_role("table").get_by_role("link", name=item.title, exact=True).click()
    expect(
        page.get_by_role("heading", level=2, name=re.compile(re.escape(item.title)))
    ).to_be_visible()
    assert_accessible(page)


def answer_item(page: Page, item, files: dict[str, Path], *, text: str = "") -> None:
    """Fill the answer form for `item` (on its page) and submit it."""
    if item.kind == "text":
        page.get_by_label("Your answer").fill(
            text or f"Our plan for “{item.title}”: who does what, when, and how we check it."
        )
    elif item.kind == "date":
        when = (
            clock.today() - timedelta(days=7)
            if item.key == "dry-run"
            else clock.today() + timedelta(days=30)
        )
        page.get_by_label("Date", exact=True).fill(when.isoformat())
        page.get_by_label("Note for the reviewer (optional)").fill(
            "Booked with the whole hub team."
        )
    elif item.kind == "attestation":
        page.get_by_label("Name of the person confirming").fill("Gareth Pritchard")
        page.get_by_label("Their role").fill("Head of Digital Services")
        page.get_by_label("I confirm that the statement above is true for our organisation").check()
    elif item.kind == "file":
        page.get_by_label("Evidence file").set_input_files(files[item.key])
        page.get_by_label("Note for the reviewer (optional)").fill("Signed copy attached.")
    page.get_by_role("button", name="Submit for review").click()
    expect(flash(page, f"“{item.title}” submitted for review.")).to_be_visible()


def review_item(page: Page, decision: str, comment: str = "") -> None:
    page.get_by_role("group", name="Decision").get_by_label(decision, exact=True).check()
    if comment:
        page.get_by_label("Comment (required when requesting changes)").fill(comment)
    page.get_by_role("button", name="Record decision").click()


# --- the journey ---------------------------------------------------------------------------


def test_lead_and_trainer_complete_the_readiness_checklist(
    page: Page, browser, live_app, create_account, assert_accessible, base_url, tmp_path, emails_to
):
    org_name = "Bryn Gwyn Hospice"
    org_id, lead, _members = team_in_training(live_app, create_account, org_name)
    trainer = create_account(roles=("trainer",))
    items = checklist_items(live_app)
    assert {i.kind for i in items} == {"file", "text", "date", "attestation"}

    ip_pdf = make_pdf(tmp_path / "IP terms - signed.pdf", "IP Terms of Use Agreement - signed")
    collab_pdf = make_pdf(tmp_path / "Collaboration statement.pdf", "Statement of Collaboration")
    collab_signed = make_pdf(
        tmp_path / "Collaboration statement - signed.pdf", "Statement of Collaboration - signed"
    )
    files: dict[str, Path] = {}
    for item in items:
        if item.kind == "file":
            # Mostly PDFs, with one image (the case presentation form, photographed).
            files[item.key] = (
                make_png(tmp_path / f"{item.key}.png")
                if item.key == "case-form"
                else make_pdf(tmp_path / f"{item.key}.pdf", item.title)
            )
    assert any(p.suffix == ".png" for p in files.values())

    # --- the hub lead uploads both agreements -------------------------------------------
    open_login(page, assert_accessible)
    log_in(page, lead[0], lead[2], assert_accessible)
    page.goto(f"/organisations/{org_id}")
    org_tab(page, org_name, "Readiness").click()
    expect(page.get_by_role("heading", level=2, name="Readiness requirements")).to_be_visible()
    expect(page.get_by_text("2 of 5 requirements met.")).to_be_visible()
    assert_accessible(page)

    signed = clock.today() - timedelta(days=10)
    upload_agreement(
        page, "IP Terms of Use Agreement", ip_pdf, "Carys Llewellyn", "Chief Executive", signed
    )
    assert_accessible(page)
    upload_agreement(
        page, "Statement of Collaboration", collab_pdf, "Dafydd Rees", "Legal Counsel", signed
    )
    for label, file_name in (
        ("IP Terms of Use Agreement", ip_pdf.name),
        ("Statement of Collaboration", collab_pdf.name),
    ):
        card = agreement_card(page, label)
        expect(card).to_contain_text("Submitted for review")
        expect(card.get_by_role("link", name=file_name)).to_be_visible()
    expect(agreement_card(page, "IP Terms of Use Agreement")).to_contain_text(
        re.compile(
            f"Carys Llewellyn, Chief Executive\\s*Date signed\\s*{signed.strftime('%-d %B %Y')}"
        )
    )
    expect(agreement_card(page, "Statement of Collaboration")).to_contain_text(
        "Dafydd Rees, Legal Counsel"
    )
    expect(requirement(page, "Partnership agreements verified")).to_contain_text(
        "waiting for a trainer to verify it"
    )
    assert_accessible(page)

    # --- a trainer verifies one and rejects the other ----------------------------------
    trainer_context = browser.new_context(base_url=base_url)
    trainer_page = trainer_context.new_page()
    open_login(trainer_page, assert_accessible)
    log_in(trainer_page, trainer[0], trainer[2], assert_accessible)
    open_queue(trainer_page, assert_accessible)
    rows = queue_rows(trainer_page, org_name)
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("IP Terms of Use Agreement")
    rows.first.get_by_role("link", name=re.compile("^Review")).click()
    expect(
        trainer_page.get_by_role("heading", level=2, name="Partnership agreements")
    ).to_be_visible()
    assert_accessible(trainer_page)

    # The trainer opens the evidence: the very file the lead uploaded, as an attachment.
    with trainer_page.expect_download() as download:
        agreement_card(trainer_page, "IP Terms of Use Agreement").get_by_role(
            "link", name=ip_pdf.name
        ).click()
    assert download.value.suggested_filename == ip_pdf.name
    assert Path(download.value.path()).read_bytes() == ip_pdf.read_bytes()

    review_agreement(trainer_page, "IP Terms of Use Agreement", "Verify (accept)")
    expect(flash(trainer_page, "IP Terms of Use Agreement: accepted.")).to_be_visible()
    expect(agreement_card(trainer_page, "IP Terms of Use Agreement")).to_contain_text("Verified by")
    assert_accessible(trainer_page)

    # Rejecting without a reason is refused, next to the reason field.
    review_agreement(trainer_page, "Statement of Collaboration", "Reject")
    card = agreement_card(trainer_page, "Statement of Collaboration")
    expect(card.get_by_role("alert").filter(has_text="There is a problem")).to_be_visible()
    expect(card.get_by_label("Reason (required when rejecting)")).to_have_accessible_description(
        re.compile("Give the reason for rejecting")
    )
    assert_accessible(trainer_page)
    review_agreement(trainer_page, "Statement of Collaboration", "Reject", REJECT_REASON)
    expect(flash(trainer_page, "Statement of Collaboration: rejected.")).to_be_visible()
    assert_accessible(trainer_page)

    # --- the lead is told (reviews wait for the daily digest email) and sees the reason ---
    assert [m for m in emails_to(lead[0]) if "needs attention" in m.subject] == []
    page.reload()
    main_nav(page).get_by_role("link", name=re.compile(r"^Notifications")).click()
    expect(
        page.get_by_role("link", name="Statement of Collaboration needs attention")
    ).to_be_visible()
    expect(page.get_by_text("in your next daily summary").first).to_be_visible()
    page.go_back()
    card = agreement_card(page, "Statement of Collaboration")
    expect(card).to_contain_text(f"Rejected: {REJECT_REASON}")
    expect(agreement_card(page, "IP Terms of Use Agreement")).to_contain_text("Accepted")
    expect(requirement(page, "Partnership agreements verified")).to_contain_text(
        f"Statement of Collaboration: rejected — {REJECT_REASON}"
    )
    assert_accessible(page)
    upload_agreement(
        page,
        "Statement of Collaboration",
        collab_signed,
        "Dafydd Rees",
        "Legal Counsel",
        signed + timedelta(days=3),
    )
    expect(
        agreement_card(page, "Statement of Collaboration").get_by_role(
            "link", name=collab_signed.name
        )
    ).to_be_visible()
    page.get_by_text("Earlier versions (1)").click()
    expect(page.get_by_role("link", name=collab_pdf.name)).to_be_visible()
    assert_accessible(page)

    # --- the trainer verifies the new upload ---------------------------------------------
    open_queue(trainer_page, assert_accessible)
    rows = queue_rows(trainer_page, org_name)
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Statement of Collaboration")
    rows.get_by_role("link", name=re.compile("^Review")).click()
    expect(
        agreement_card(trainer_page, "Statement of Collaboration").get_by_role(
            "link", name=collab_signed.name
        )
    ).to_be_visible()
    review_agreement(trainer_page, "Statement of Collaboration", "Verify (accept)")
    expect(flash(trainer_page, "Statement of Collaboration: accepted.")).to_be_visible()
    assert_accessible(trainer_page)

    page.reload()
    expect(requirement(page, "Partnership agreements verified")).to_contain_text("(met)")
    expect(requirement(page, "Partnership agreements verified")).to_contain_text(
        "Both agreements are verified."
    )
    assert_accessible(page)

    # --- the lead answers every checklist item -------------------------------------------
    for item in items:
        open_item(page, org_id, item, assert_accessible)
        expect(page.get_by_text("Not answered yet.")).to_be_visible()
        answer_item(page, item, files)
        expect(page.get_by_text("Submitted for review").first).to_be_visible()
        if item.kind == "file":
            expect(page.get_by_role("link", name=files[item.key].name)).to_be_visible()
        assert_accessible(page)

    page.goto(f"/organisations/{org_id}/readiness")
    checklist_table = page.get_by_role("table")
    for item in items:
        row = checklist_table.get_by_role("row").filter(
            has=page.get_by_role("link", name=item.title, exact=True)
        )
        expect(row).to_contain_text("Submitted for review")
    assert_accessible(page)

    # --- the trainer requests changes on one item ----------------------------------------
    to_fix = next(i for i in items if i.key == "spoke-recruitment")
    open_queue(trainer_page, assert_accessible)
    rows = queue_rows(trainer_page, org_name)
    expect(rows).to_have_count(len(items))
    rows.filter(has_text=to_fix.title).get_by_role("link", name=re.compile("^Review")).click()
    expect(trainer_page.get_by_role("heading", level=3, name="Review version 1")).to_be_visible()
    assert_accessible(trainer_page)
    review_item(trainer_page, "Request changes")  # no comment: refused
    expect(trainer_page.get_by_role("alert").filter(has_text="There is a problem")).to_be_visible()
    expect(
        trainer_page.get_by_label("Comment (required when requesting changes)")
    ).to_have_accessible_description(re.compile("Say what needs to change"))
    assert_accessible(trainer_page)
    review_item(trainer_page, "Request changes", CHANGES_COMMENT)
    expect(flash(trainer_page, f"“{to_fix.title}”: changes requested.")).to_be_visible()
    assert_accessible(trainer_page)

    # --- the lead sees the comment and fixes the answer ----------------------------------
    page.goto(f"/organisations/{org_id}/readiness")
    expect(
        checklist_table.get_by_role("row").filter(
            has=page.get_by_role("link", name=to_fix.title, exact=True)
        )
    ).to_contain_text("Changes requested")
    expect(requirement(page, "Readiness checklist accepted")).to_contain_text(
        f"{to_fix.title}: changes requested"
    )
    assert_accessible(page)
    open_item(page, org_id, to_fix, assert_accessible)
    thread = page.get_by_role("region", name="Comments and decisions")
    expect(thread).to_contain_text(CHANGES_COMMENT)
    expect(thread).to_contain_text("requested changes")
    answer_item(page, to_fix, files, text=FIXED_PLAN)
    expect(page.get_by_text(FIXED_PLAN)).to_be_visible()
    expect(page.get_by_text(re.compile(r"version 2, submitted"))).to_be_visible()
    assert_accessible(page)

    # --- the trainer accepts everything --------------------------------------------------
    for _ in range(len(items)):
        open_queue(trainer_page, assert_accessible)
        rows = queue_rows(trainer_page, org_name)
        rows.first.get_by_role("link", name=re.compile("^Review")).click()
        expect(
            trainer_page.get_by_role("heading", level=3, name=re.compile("^Review version"))
        ).to_be_visible()
        assert_accessible(trainer_page)
        review_item(trainer_page, "Accept")
        expect(flash(trainer_page, ": accepted.")).to_be_visible()
    open_queue(trainer_page, assert_accessible)
    expect(queue_rows(trainer_page, org_name)).to_have_count(0)
    trainer_context.close()

    # --- the lead's panel: everything met except Immersion --------------------------------
    page.goto(f"/organisations/{org_id}/readiness")
    expect(page.get_by_text("4 of 5 requirements met.")).to_be_visible()
    for title in (
        "Partnership agreements verified",
        "Team composition",
        "Required training modules completed",
        "Readiness checklist accepted",
    ):
        expect(requirement(page, title)).to_contain_text("(met)")
        expect(requirement(page, title)).not_to_contain_text("(not met)")
    immersion = requirement(page, "Immersion attendance")
    expect(immersion).to_contain_text("(not met)")
    expect(immersion).to_contain_text(IMMERSION_MISSING)
    for item in items:
        expect(
            checklist_table.get_by_role("row").filter(
                has=page.get_by_role("link", name=item.title, exact=True)
            )
        ).to_contain_text("Accepted")
    submit = page.get_by_role("button", name="Submit for readiness review")
    expect(submit).to_be_disabled()
    expect(submit).to_have_accessible_description(
        re.compile("Still missing: Immersion attendance\\.")
    )
    expect(page.get_by_text("Still missing: Immersion attendance.")).to_be_visible()
    assert_accessible(page)


def test_a_disguised_upload_is_refused_next_to_the_field(
    page: Page, live_app, create_account, assert_accessible, tmp_path
):
    org_name = "Ynys Môn Hospice"
    org_id, lead, _members = team_in_training(live_app, create_account, org_name, train=False)
    fake = tmp_path / "IP terms.pdf"
    fake.write_text("<!doctype html><html><body><script>alert(1)</script></body></html>")
    label = "IP Terms of Use Agreement"

    open_login(page, assert_accessible)
    log_in(page, lead[0], lead[2], assert_accessible)
    page.goto(f"/organisations/{org_id}/readiness")
    card = agreement_card(page, label)
    card.get_by_label("Signed document").set_input_files(fake)
    card.get_by_label("Signed by (name)").fill("Carys Llewellyn")
    card.get_by_label("Signatory's role").fill("Chief Executive")
    card.get_by_label("Date signed").fill((clock.today() - timedelta(days=2)).isoformat())
    card.get_by_role("button", name=f"Upload {label}").click()

    card = agreement_card(page, label)
    message = re.compile("named like a PDF but its contents are not a PDF")
    expect(card.get_by_role("alert").filter(has_text="There is a problem")).to_be_visible()
    expect(card.get_by_label("Signed document")).to_have_accessible_description(message)
    expect(card.locator("#ip_terms-file-error")).to_have_text(message)
    expect(card).to_contain_text("Not uploaded")
    expect(card.get_by_role("link", name=fake.name, exact=True)).to_have_count(0)
    expect(requirement(page, "Partnership agreements verified")).to_contain_text(
        f"{label}: not uploaded"
    )
    assert_accessible(page)

    # The same disguised file as checklist evidence: refused next to the file field too.
    page.goto(f"/organisations/{org_id}/checklist/sponsor-letter")
    page.get_by_label("Evidence file").set_input_files(fake)
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_visible()
    expect(page.get_by_label("Evidence file")).to_have_accessible_description(message)
    expect(page.locator("#file-error")).to_have_text(message)
    current = page.get_by_role("region", name="Current answer")
    expect(current).to_contain_text("Not answered yet.")
    expect(page.get_by_role("link", name=fake.name, exact=True)).to_have_count(0)
    assert_accessible(page)

    # Nothing was stored: no agreement, answer or evidence file, and no file on disk.
    with live_app.app_context():
        from sqlalchemy import func, select

        from app.extensions import db
        from app.readiness.models import Agreement, ChecklistAnswer, EvidenceFile

        for model in (Agreement, ChecklistAnswer, EvidenceFile):
            count = db.session.scalar(
                select(func.count()).select_from(model).where(model.organisation_id == org_id)
            )
            assert count == 0, model.__name__
        db.session.remove()
        folder = Path(live_app.config["STORAGE_DIR"]) / f"org-{org_id}"
        assert not folder.exists() or not any(folder.iterdir())
