"""Extension objects, created unbound and attached to the app in `create_app`."""

import sqlite3

from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from flask_wtf import CSRFProtect
from sqlalchemy import Engine, event

from app.core.db import Base


class PortalSession(Session):
    """Flask-SQLAlchemy's session, except that an explicit `bind` given to the session
    factory wins, as in plain SQLAlchemy: the test suite binds every session to one
    connection whose transaction is rolled back after each test."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": PortalSession})
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()
bootstrap = Bootstrap5()
# No default limits: each sensitive route declares its own (per address and per account).
limiter = Limiter(key_func=get_remote_address, default_limits=[])


@event.listens_for(Engine, "connect")
def _sqlite_write_ahead_log(dbapi_connection, _record) -> None:
    """SQLite files in write-ahead-log mode: readers never block the writer (a web request
    reading while the job worker records a delivery, in the embedded default), and a
    writer waits only for another writer."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
