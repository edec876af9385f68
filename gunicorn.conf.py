"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be overridden from the environment (GUNICORN_*), so one file serves each
server behind the load balancer.
"""

import multiprocessing
import os

from gunicorn.glogging import Logger

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: the portal is CPU- and database-bound (PDF rendering, queries), not I/O-bound.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
# Certificate issuing renders and signs a PDF inside the request: allow it time, but not forever.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then so a slow leak can never grow without bound; rarely, because
# a new worker starts cold (measured: at 2,000 requests a busy worker restarted every
# second or two, and its first requests stalled the queue behind it).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "50000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "5000"))
# Build the app once in the master: a broken configuration stops start-up with its reason.
preload_app = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# No query strings in the access log, and no secrets in paths (RedactingLogger below):
# verification codes and tokens travel in URLs.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss "%(a)s"'
# Behind a TLS-terminating proxy on the same host. The visitor's address for the portal's
# own limits comes from TRUSTED_PROXY_HOPS (README, Deployment), not from gunicorn.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")


class RedactingLogger(Logger):
    """gunicorn's logger, with reset and invitation tokens and verification codes blanked
    out of every path it writes (app.core.logs.redact)."""

    def atoms(self, resp, req, environ, request_time):
        from app.core.logs import redact

        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f"):
            if key in atoms:
                atoms[key] = redact(atoms[key])
        return atoms


logger_class = RedactingLogger


def when_ready(server):
    """In the master, after the app is built: compile every page template once, so each
    worker (and each recycled one) forks with them ready instead of compiling its own."""
    from wsgi import app

    for name in app.jinja_env.list_templates(filter_func=lambda n: n.endswith(".html")):
        app.jinja_env.get_template(name)


def post_fork(server, worker):
    """A worker never uses the master's database connections (a socket shared by two
    processes corrupts both); it opens its own."""
    from app.extensions import db
    from wsgi import app

    with app.app_context():
        db.engine.dispose(close=False)
