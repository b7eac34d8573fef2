"""Shared set-up of the bench scripts: the same servers `make test` would use.

With DATABASE_URL / REDIS_URL / KAFKA_BOOTSTRAP_SERVERS unset, the embedded servers are
started in a fresh directory under .devstack/ and stopped at exit; otherwise the named
servers are used. Django is then set up and migrated, with a topic prefix of the run's own.
"""

import atexit
import contextlib
import os
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from config import devstack

_stack = contextlib.ExitStack()
atexit.register(_stack.close)


def stack_setup(prefix: str) -> dict[str, str]:
    """Start what is missing, set up Django, migrate; answer the service URLs."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-not-for-deployment")
    os.environ["EVENTS_ENV"] = f"{prefix}{int(time.time())}"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    _stack.enter_context(devstack.running_fresh(os.environ, prefix="bench-"))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return {var: os.environ[var] for var in devstack.SERVICES}
