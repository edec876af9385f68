"""Programme settings from `modules/programme.yaml`: team rules, invitation expiry, limits,
and when reminders are sent.

The rules live in content, not code, so a superhub can change them without a release.
The file is validated when the app starts; an invalid file stops start-up with the
file, field and problem named.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from flask import current_app

HUB_ROLES: dict[str, str] = {
    "hub_lead": "Hub lead",
    "coordinator": "Coordinator",
    "facilitator": "Facilitator",
    "specialist": "Specialist",
    "it_support": "IT support",
    "evaluation": "Evaluation",
}


def role_in_prose(role: str) -> str:
    """A hub role's label inside a sentence: "hub lead", "coordinator", but "IT support"
    (an acronym keeps its capitals)."""
    label = HUB_ROLES.get(role, role.replace("_", " "))
    first = label.split(" ", 1)[0]
    return label if len(first) > 1 and first.isupper() else label[:1].lower() + label[1:]


def roles_in_prose(roles) -> str:
    """Roles as a list in a sentence: "hub lead, coordinator, facilitator and specialist"."""
    words = [role_in_prose(r) for r in roles]
    return " and ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


@dataclass(frozen=True)
class ReminderSettings:
    """When the scheduled reminders (`app.reminders`) fall due. Each is due on a day (UK
    time) and sent once `send_hour` has come that day; one missed while no scheduler ran
    is still sent up to `catch_up_days` late, never twice."""

    send_hour: int = 8
    catch_up_days: int = 3
    # Days before a certificate's last valid day; and once on the first day it reads expired.
    certificate_expiry_days: tuple[int, ...] = (90, 30, 7)
    certificate_expired: bool = True
    invitation_unanswered_days: int = 7  # after the invitation was (last) sent
    invitation_lapse_days: int = 2  # before its link stops working
    booking_deadline_days: int = 7  # before a cohort's booking deadline
    session_days_before: int = 1  # before an Immersion session's day
    evaluation_days_after: int = 7  # after the cohort was completed
    trainer_waiting_working_days: int = 5  # Monday to Friday
    modules_not_started_days: int = 30  # after the organisation's acceptance


class ProgrammeError(ValueError):
    """Invalid programme settings; the message names the file, field and problem."""


@dataclass(frozen=True)
class ProgrammeSettings:
    required_roles: tuple[str, ...]
    invitation_expiry_days: int
    min_spokes: int
    max_spokes: int
    # Minutes a trainee waits after two knowledge-check attempts in a row that did not pass.
    check_cooldown_minutes: int = 30
    session_minimum_percent: int = 75
    attendance_threshold_percent: int = 80
    evaluation_days: int = 30
    evaluation_statements: tuple[tuple[str, str], ...] = ()
    four_eyes: bool = True
    certificate_valid_years: int = 3
    trainee_certificate_valid_years: int = 3
    # (key, title, guidance) for each readiness-assessment criterion, scored 1–4.
    rubric: tuple[tuple[str, str, str], ...] = ()
    # The hour (programme time, 0–23) after which the daily digest of notifications goes.
    digest_hour: int = 7
    reminders: ReminderSettings = ReminderSettings()


def _get(data: dict, path: str, source: Path):
    node = data
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            raise ProgrammeError(f"{source}: {path}: missing")
        node = node[key]
    return node


def _positive_int(data: dict, path: str, source: Path, minimum: int = 1) -> int:
    value = _get(data, path, source)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ProgrammeError(f"{source}: {path}: must be a whole number ≥ {minimum}, got {value!r}")
    return value


def _percent(data: dict, field_path: str, source: Path) -> int:
    value = _positive_int(data, field_path, source)
    if value > 100:
        raise ProgrammeError(f"{source}: {field_path}: must be a percentage from 1 to 100")
    return value


def load_programme_settings(path: Path) -> ProgrammeSettings:
    """Parse and validate the programme settings file."""
    if not path.is_file():
        raise ProgrammeError(f"{path}: file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProgrammeError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ProgrammeError(f"{path}: must be a mapping of settings")
    roles = _get(data, "team.required_roles", path)
    if not isinstance(roles, list) or not roles:
        raise ProgrammeError(f"{path}: team.required_roles: must be a non-empty list")
    unknown = [r for r in roles if r not in HUB_ROLES]
    if unknown:
        raise ProgrammeError(
            f"{path}: team.required_roles: unknown role(s) {unknown}; "
            f"known roles are {', '.join(HUB_ROLES)}"
        )
    min_spokes = _positive_int(data, "application.min_spokes", path)
    max_spokes = _positive_int(data, "application.max_spokes", path)
    if max_spokes < min_spokes:
        raise ProgrammeError(f"{path}: application.max_spokes: must be ≥ min_spokes")
    training = data.get("training") or {}
    if not isinstance(training, dict):
        raise ProgrammeError(f"{path}: training: must be a mapping of settings")
    cooldown = training.get("check_cooldown_minutes", 30)
    if (
        not isinstance(cooldown, int)
        or isinstance(cooldown, bool)
        or not 0 <= cooldown <= 7 * 24 * 60
    ):
        raise ProgrammeError(
            f"{path}: training.check_cooldown_minutes: must be a whole number of minutes from 0 "
            f"(no pause) to 10080 (a week), got {cooldown!r}"
        )
    minimum = _percent(data, "immersion.session_minimum_percent", path)
    threshold = _percent(data, "immersion.attendance_threshold_percent", path)
    evaluation_days = _positive_int(data, "immersion.evaluation_days", path)
    raw_statements = _get(data, "immersion.evaluation_statements", path)
    if not isinstance(raw_statements, list) or not raw_statements:
        raise ProgrammeError(f"{path}: immersion.evaluation_statements: must be a non-empty list")
    statements = []
    for index, item in enumerate(raw_statements):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("key"), str)
            or not isinstance(item.get("text"), str)
            or not item["text"].strip()
        ):
            raise ProgrammeError(
                f"{path}: immersion.evaluation_statements[{index}]: needs a key and a text"
            )
        statements.append((item["key"], item["text"].strip()))
    if len({k for k, _ in statements}) != len(statements):
        raise ProgrammeError(f"{path}: immersion.evaluation_statements: duplicate key")
    four_eyes = _get(data, "approval.four_eyes", path)
    if not isinstance(four_eyes, bool):
        raise ProgrammeError(f"{path}: approval.four_eyes: must be true or false")
    raw_rubric = _get(data, "approval.rubric", path)
    if not isinstance(raw_rubric, list) or not raw_rubric:
        raise ProgrammeError(f"{path}: approval.rubric: must be a non-empty list of criteria")
    rubric = []
    for index, item in enumerate(raw_rubric):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("key"), str)
            or not isinstance(item.get("title"), str)
            or not item["title"].strip()
        ):
            raise ProgrammeError(f"{path}: approval.rubric[{index}]: needs a key and a title")
        guidance = item.get("guidance", "")
        if not isinstance(guidance, str):
            raise ProgrammeError(f"{path}: approval.rubric[{index}].guidance: must be text")
        rubric.append((item["key"], item["title"].strip(), guidance.strip()))
    if len({k for k, _, _ in rubric}) != len(rubric):
        raise ProgrammeError(f"{path}: approval.rubric: duplicate key")
    notifications = data.get("notifications") or {}
    if not isinstance(notifications, dict):
        raise ProgrammeError(f"{path}: notifications: must be a mapping of settings")
    digest_hour = notifications.get("digest_hour", 7)
    if (
        not isinstance(digest_hour, int)
        or isinstance(digest_hour, bool)
        or not 0 <= digest_hour <= 23
    ):
        raise ProgrammeError(
            f"{path}: notifications.digest_hour: must be an hour from 0 to 23, got {digest_hour!r}"
        )
    invitation_expiry_days = _positive_int(data, "invitations.expiry_days", path)
    reminders = _reminders(data, path)
    lapse_set = (
        isinstance(data.get("reminders"), dict) and "invitation_lapse_days" in data["reminders"]
    )
    if lapse_set and reminders.invitation_lapse_days >= invitation_expiry_days:
        raise ProgrammeError(
            f"{path}: reminders.invitation_lapse_days: must be fewer than "
            f"invitations.expiry_days ({invitation_expiry_days})"
        )
    return ProgrammeSettings(
        digest_hour=digest_hour,
        reminders=reminders,
        four_eyes=four_eyes,
        certificate_valid_years=_positive_int(data, "approval.certificate_valid_years", path),
        trainee_certificate_valid_years=_positive_int(
            data, "approval.trainee_certificate_valid_years", path
        ),
        rubric=tuple(rubric),
        session_minimum_percent=minimum,
        attendance_threshold_percent=threshold,
        evaluation_days=evaluation_days,
        evaluation_statements=tuple(statements),
        check_cooldown_minutes=cooldown,
        required_roles=tuple(dict.fromkeys(roles)),
        invitation_expiry_days=invitation_expiry_days,
        min_spokes=min_spokes,
        max_spokes=max_spokes,
    )


def _reminders(data: dict, source: Path) -> ReminderSettings:
    """The optional `reminders:` section; each setting left out keeps its default."""
    section = data.get("reminders")
    if section is None:
        return ReminderSettings()
    if not isinstance(section, dict):
        raise ProgrammeError(f"{source}: reminders: must be a mapping of settings")
    defaults = ReminderSettings()
    known = list(ReminderSettings.__dataclass_fields__)
    unknown = sorted(str(k) for k in section if k not in known)
    if unknown:
        raise ProgrammeError(
            f"{source}: reminders: unknown setting(s) {unknown}; known settings are "
            f"{', '.join(known)}"
        )
    values: dict = {}
    for name in known:
        if name not in section:
            continue
        value, where = section[name], f"reminders.{name}"
        default = getattr(defaults, name)
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ProgrammeError(f"{source}: {where}: must be true or false, got {value!r}")
        elif isinstance(default, tuple):
            if not isinstance(value, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value
            ):
                raise ProgrammeError(
                    f"{source}: {where}: must be a list of whole numbers of days ≥ 1 "
                    f"(may be empty: []), got {value!r}"
                )
            if len(set(value)) != len(value):
                raise ProgrammeError(f"{source}: {where}: lists a number of days twice")
            value = tuple(sorted(value, reverse=True))
        else:
            low, high = (
                (0, 23) if name == "send_hour" else (0 if name == "catch_up_days" else 1, None)
            )
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or value < low
                or (high is not None and value > high)
            ):
                wanted = f"an hour from {low} to {high}" if high else f"a whole number ≥ {low}"
                raise ProgrammeError(f"{source}: {where}: must be {wanted}, got {value!r}")
        values[name] = value
    return ReminderSettings(**values)


def programme() -> ProgrammeSettings:
    """The settings loaded for the current app at start-up."""
    return current_app.extensions["programme"]
