"""Cached public pages that are never stale: each cache group has a generation number, and a
committed change to any model of the group moves it on.

    body = cache.cached("directory", key, build)   # build() runs on a miss

Models join a group with a class attribute, e.g. `cache_groups = ("directory",)`, and may
name the columns that matter (`cache_columns`); other changes to them leave caches alone. After a
commit that added, changed or deleted such an object, the group's generation is bumped, so
every entry built before it is ignored from then on (`bump` also serves writes made with
bulk statements, which the session does not see). The bump happens after the commit, never
before: a page built from data read before the commit was cached under the old generation.

Generations live in Redis when `CACHE_URL` is set (production: every app server sees every
bump) and in the process otherwise (one development server). Entries themselves are kept per
process, a bounded number per group. If Redis fails, pages are built uncached: slower, never
wrong.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

MAX_ENTRIES = 512  # per group and process
_PENDING = "cache_groups_pending"


class _Store:
    """Generations and entries of one app."""

    def __init__(self, url: str | None):
        self.redis = None
        if url:
            import redis

            self.redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.local_generations: dict[str, int] = {}
        self.entries: dict[str, OrderedDict] = {}
        self.lock = threading.Lock()

    def generation(self, group: str) -> int | None:
        if self.redis is None:
            return self.local_generations.get(group, 0)
        try:
            value = self.redis.get(f"echo-hub:cache-generation:{group}")
        except Exception as error:  # Redis down: serve uncached rather than fail
            log.warning("cache generation unavailable (%s): serving uncached", error)
            return None
        return int(value or 0)

    def bump(self, groups) -> None:
        for group in groups:
            if self.redis is None:
                with self.lock:
                    self.local_generations[group] = self.local_generations.get(group, 0) + 1
                continue
            try:
                self.redis.incr(f"echo-hub:cache-generation:{group}")
            except Exception as error:
                # Entries of this group may now outlive the change: drop this process's, and
                # say so; other processes keep theirs until their next bump.
                log.error("could not bump cache generation %s (%s)", group, error)
            with self.lock:
                self.entries.pop(group, None)

    def get_or_build(self, group: str, key: Hashable, build: Callable[[], Any]) -> Any:
        generation = self.generation(group)
        if generation is None:
            return build()
        full_key = (generation, key)
        with self.lock:
            entries = self.entries.setdefault(group, OrderedDict())
            if full_key in entries:
                entries.move_to_end(full_key)
                return entries[full_key]
        value = build()
        with self.lock:
            entries[full_key] = value
            while len(entries) > MAX_ENTRIES:
                entries.popitem(last=False)
        return value


def init_app(app) -> None:
    app.extensions["page_cache"] = _Store(app.config.get("CACHE_URL") or None)


def _store() -> _Store:
    return current_app.extensions["page_cache"]


def cached(group: str, key: Hashable, build: Callable[[], Any]) -> Any:
    """The value cached for `key` in `group` at its current generation, built on a miss."""
    return _store().get_or_build(group, key, build)


def bump(*groups: str) -> None:
    """Invalidate every entry of `groups` (call after committing a bulk write)."""
    _store().bump(groups)


def changed(*groups: str) -> None:
    """Note that this transaction changes `groups` by a bulk UPDATE the session cannot see;
    they are bumped when it commits."""
    from app.extensions import db

    _pending(db.session()).update(groups)


def _pending(session) -> set[str]:
    """The groups this transaction changes, bumped by an after-commit hook (`core.boundary`)
    registered with the first of them and forgotten if the transaction rolls back."""
    from app.core.boundary import after_commit, after_rollback

    groups = session.info.get(_PENDING)
    if groups is None:
        groups = session.info[_PENDING] = set()

        def bump_changed() -> None:
            session.info.pop(_PENDING, None)
            # Without an app there is no cache to invalidate (a script's own session, say).
            if groups and has_app_context() and "page_cache" in current_app.extensions:
                bump(*groups)

        after_commit(bump_changed, session)
        after_rollback(lambda: session.info.pop(_PENDING, None), session)
    return groups


@event.listens_for(Session, "after_flush")
def _note_changed_groups(session, _flush_context) -> None:
    groups: set[str] = set()
    for obj in (*session.new, *session.deleted):
        groups.update(getattr(obj, "cache_groups", ()))
    for obj in session.dirty:
        watched = getattr(obj, "cache_groups", ())
        if not watched:
            continue
        # A model may name the columns its cached pages show; other changes (an
        # organisation's last activity, say) leave the caches alone.
        columns = getattr(obj, "cache_columns", None)
        state = inspect(obj)
        if columns is None:
            changed = session.is_modified(obj)
        else:
            changed = any(state.attrs[name].history.has_changes() for name in columns)
        if changed:
            groups.update(watched)
    if groups:
        _pending(session).update(groups)


def for_visitors(group: str, build: Callable[[], Any], *, vary: Hashable = None) -> Any:
    """`build()` cached by URL (and `vary`) for visitors who are not signed in.

    Signed-in pages carry the user's name and a CSRF token, and a pending flash message is
    personal, so those are always built fresh."""
    from flask import request, session
    from flask_login import current_user

    if current_user.is_authenticated or session.get("_flashes"):
        return build()
    return cached(group, (request.full_path, vary), build)
