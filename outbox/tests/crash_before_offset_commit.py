"""Test driver: run a consumer group that is killed with SIGKILL right after its database
transaction commits and before Kafka gets the offsets (the window the inbox protects).

    python outbox/tests/crash_before_offset_commit.py GROUP
"""

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import django

django.setup()

from confluent_kafka import Consumer  # noqa: E402 - Django first

import outbox.consumer as runtime  # noqa: E402
from outbox.groups import consumer_group_get  # noqa: E402


class ConsumerKilledBeforeCommit(Consumer):
    def commit(self, *args: object, **kwargs: object) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


runtime.Consumer = ConsumerKilledBeforeCommit
runtime.GroupConsumer(consumer_group_get(sys.argv[1])).run()
