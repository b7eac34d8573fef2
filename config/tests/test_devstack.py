"""The embedded servers: started only for unset URLs, real, persistent, and never left behind."""

import os
import signal
import subprocess
import sys
import time

import psycopg
import redis
from confluent_kafka.admin import AdminClient

from config import devstack


def _redis_answers(url: str) -> bool:
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.ConnectionError:
        return False


def test_session_servers_are_real_postgres_redis_and_kafka(devstack_urls):
    with psycopg.connect(devstack_urls["DATABASE_URL"]) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert _redis_answers(devstack_urls["REDIS_URL"])
    metadata = AdminClient({"bootstrap.servers": devstack_urls["KAFKA_BOOTSTRAP_SERVERS"]})
    assert metadata.list_topics(timeout=5).brokers


def test_nothing_is_started_when_every_url_is_set(tmp_path):
    environ = {var: "set-by-the-user" for var in devstack.SERVICES}

    with devstack.running(environ, base_dir=tmp_path) as urls:
        assert urls == {}

    assert list(tmp_path.iterdir()) == []


def test_only_the_missing_server_is_started_and_it_stops_on_exit(tmp_path, devstack_urls):
    environ = {**devstack_urls, "REDIS_URL": ""}

    with devstack.running(environ, base_dir=tmp_path) as urls:
        assert list(urls) == ["REDIS_URL"]
        assert _redis_answers(urls["REDIS_URL"])
        assert not (tmp_path / "postgres").exists()

    assert not _redis_answers(urls["REDIS_URL"])


def test_postgres_data_persists_across_restarts(tmp_path, devstack_urls):
    environ = {**devstack_urls, "DATABASE_URL": ""}
    with devstack.running(environ, base_dir=tmp_path) as urls:
        with psycopg.connect(urls["DATABASE_URL"], autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (value text)")
            conn.execute("INSERT INTO kept VALUES ('still here')")

    with devstack.running(environ, base_dir=tmp_path) as urls:
        with psycopg.connect(urls["DATABASE_URL"]) as conn:
            assert conn.execute("SELECT value FROM kept").fetchall() == [("still here",)]


def test_servers_stop_when_their_parent_is_killed(tmp_path, devstack_urls):
    environ = {**os.environ, **devstack_urls, "REDIS_URL": ""}
    parent = subprocess.Popen(
        [sys.executable, "-m", "config.devstack", "--dir", str(tmp_path)],
        env=environ,
        stdout=subprocess.PIPE,
        text=True,
        cwd=devstack.PROJECT_DIR,
    )
    line = parent.stdout.readline()
    assert line.startswith("export REDIS_URL=")
    redis_url = line.strip().split("=", 1)[1]
    assert _redis_answers(redis_url)

    parent.send_signal(signal.SIGKILL)
    parent.wait()

    deadline = time.monotonic() + 10
    while _redis_answers(redis_url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _redis_answers(redis_url)
