"""Access policy: every endpoint declares who may use it; anything undeclared is refused.

Views are decorated with `@access(PUBLIC)`, `@access(AUTHENTICATED)` or
`@access(roles("admin"))`. A `before_request` hook looks up the policy of the
matched endpoint and enforces it, so a forgotten decorator fails closed (403),
and `tests/core/test_access_policy.py` fails CI for any endpoint without a policy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_login import current_user

from app.core.roles import ROLES


@dataclass(frozen=True)
class Policy:
    """Who may use an endpoint: anyone, any signed-in user, or holders of given roles.

    `object_check(user, view_args)` adds a check on the object named in the URL (e.g.
    membership of the organisation `org_id`). It returns None to allow, or the status to
    refuse with: 404 for people who may not know the object exists, 403 for those who
    may see it but not do this.

    `verified_only` (the default) keeps a signed-in account whose email address is not yet
    confirmed out: it is sent to the "check your email" page instead. Only the account's
    own pages (`ANY_ACCOUNT`) open before confirmation.
    """

    name: str
    requires_login: bool
    roles: frozenset[str] = field(default_factory=frozenset)
    object_check: Callable[..., int | None] | None = None
    verified_only: bool = True

    def __post_init__(self):
        unknown = set(self.roles) - set(ROLES)
        if unknown:
            raise ValueError(f"policy {self.name!r} names unknown roles: {sorted(unknown)}")

    def allows(self, user) -> bool:
        if not self.requires_login:
            return True
        if not user.is_authenticated:
            return False
        if not self.roles:
            return True
        return any(user.has_role(role) for role in self.roles)


PUBLIC = Policy("public", requires_login=False)
AUTHENTICATED = Policy("authenticated", requires_login=True)
# The account's own pages (profile, password, two-step, sign-out, notifications): open to
# a signed-in account whose address is not yet confirmed.
ANY_ACCOUNT = Policy("account", requires_login=True, verified_only=False)
# Where an unconfirmed account is sent for everything else.
UNVERIFIED_ENDPOINT = "auth.check_email"


def roles(*names: str | frozenset[str]) -> Policy:
    """A policy allowing users who hold at least one of `names` (role names, or named sets
    from `core.roles` such as `STAFF`)."""
    flat: set[str] = set()
    for name in names:
        flat.update({name} if isinstance(name, str) else name)
    unknown = flat - set(ROLES)
    if unknown or not flat:
        raise ValueError(f"unknown roles in policy: {sorted(unknown)}")
    return Policy("roles:" + ",".join(sorted(flat)), requires_login=True, roles=frozenset(flat))


def object_policy(
    name: str,
    *,
    arg: str,
    load: Callable[[int], object | None],
    store: str,
    check: Callable[[object, object], int | None] | None = None,
    roles: frozenset[str] = frozenset(),
    within: Policy | None = None,
    requires_login: bool = True,
) -> Policy:
    """A policy on the object named by the URL argument `arg`, the one way objects in URLs
    are loaded and checked.

    `within` (say, the organisation's policy) is checked first; then `load(value)` fetches
    the object, kept in `g.<store>` for the view; not found is 404. `check(user, obj)` may
    refuse with 404 (not yours: its existence is not confirmed) or 403 (yours to see, not
    to do this). `roles` are required as for `roles()`.
    """

    def object_check(user, view_args) -> int | None:
        if within is not None and within.object_check is not None:
            refusal = within.object_check(user, view_args)
            if refusal is not None:
                return refusal
        value = view_args.get(arg)
        obj = load(value) if value is not None else None
        setattr(g, store, obj)
        if obj is None:
            return 404
        return check(user, obj) if check is not None else None

    required = frozenset(roles) | (within.roles if within is not None else frozenset())
    login = requires_login or (within is not None and within.requires_login)
    return Policy(name, requires_login=login, roles=required, object_check=object_check)


def access(policy: Policy) -> Callable:
    """Declare the access policy of a view function."""

    def decorator(view):
        view.access_policy = policy
        return view

    return decorator


def declare_endpoint(app: Flask, endpoint: str, policy: Policy) -> None:
    """Declare a policy for an endpoint we do not define ourselves (e.g. `static`)."""
    app.extensions.setdefault("access_policies", {})[endpoint] = policy


def policy_for(app: Flask, endpoint: str) -> Policy | None:
    """The declared policy of `endpoint`, or None when it has none (and is refused)."""
    declared = app.extensions.get("access_policies", {})
    if endpoint in declared:
        return declared[endpoint]
    view = app.view_functions.get(endpoint)
    return getattr(view, "access_policy", None)


def enforce_access_policy():
    """`before_request` hook: deny by default, send anonymous users to the login page."""
    endpoint = request.endpoint
    if endpoint is None:  # no route matched: let Flask answer 404/405
        return None
    policy = policy_for(current_app, endpoint)
    g.access_policy = policy
    if policy is None:
        current_app.logger.error("refused: endpoint %s declares no access policy", endpoint)
        abort(403)
    if policy.allows(current_user):
        if (
            policy.requires_login
            and policy.verified_only
            and not getattr(current_user, "email_verified", True)
        ):
            return redirect(url_for(UNVERIFIED_ENDPOINT))
        refusal = (
            policy.object_check(current_user, request.view_args or {})
            if policy.object_check is not None
            else None
        )
        if refusal is not None:
            current_app.logger.warning(
                "access refused (object, %s): user=%s endpoint=%s path=%s policy=%s",
                refusal,
                current_user.get_id(),
                endpoint,
                request.path,
                policy.name,
            )
            abort(refusal)
        return None
    if not current_user.is_authenticated:
        from app.extensions import login_manager

        return login_manager.unauthorized()
    current_app.logger.warning(
        "access refused: user=%s endpoint=%s path=%s policy=%s",
        current_user.get_id(),
        endpoint,
        request.path,
        policy.name,
    )
    abort(403)
