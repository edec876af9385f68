"""WSGI entry point: `gunicorn wsgi:app` or `flask --app wsgi ...`.

Invalid configuration or content stops the portal here with every problem listed,
instead of a traceback (this is also what `flask content validate` prints).
"""

import sys

from app import create_app
from app.certificates.render import TemplateError
from app.config import ConfigError
from app.core.programme import ProgrammeError
from app.training.content import ContentError

try:
    app = create_app()
except (ConfigError, ProgrammeError, ContentError, TemplateError) as error:
    print("The portal cannot start:", file=sys.stderr)
    for line in str(error).splitlines():
        print(f"  {line}", file=sys.stderr)
    sys.exit(1)
