"""Programme settings from `modules/programme.yaml`: team rules, invitation expiry, limits.

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


class ProgrammeError(ValueError):
    """Invalid programme settings; the message names the file, field and problem."""


@dataclass(frozen=True)
class ProgrammeSettings:
    required_roles: tuple[str, ...]
    invitation_expiry_days: int
    min_spokes: int
    max_spokes: int
    check_cooldown_minutes: int = 0
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
    cooldown = _get(data, "training.check_cooldown_minutes", path)
    if not isinstance(cooldown, int) or isinstance(cooldown, bool) or cooldown < 0:
        raise ProgrammeError(
            f"{path}: training.check_cooldown_minutes: must be a whole number ≥ 0, got {cooldown!r}"
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
    return ProgrammeSettings(
        digest_hour=digest_hour,
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
        invitation_expiry_days=_positive_int(data, "invitations.expiry_days", path),
        min_spokes=min_spokes,
        max_spokes=max_spokes,
    )


def programme() -> ProgrammeSettings:
    """The settings loaded for the current app at start-up."""
    return current_app.extensions["programme"]
