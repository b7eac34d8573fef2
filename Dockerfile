# syntax=docker/dockerfile:1
# The application image: web (uvicorn, ASGI), Celery worker and beat, and one-shot management
# commands (migrate, kafka_topics) all run from it; docker-compose.yml picks the command.

# --- build: dependencies into a virtualenv ----------------------------------------------
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# A compiler, in this stage only, for a dependency without a wheel for the platform (today
# every dependency has wheels for linux/amd64 and linux/arm64).
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"

# requirements.txt is what the application imports. The embedded development servers
# (requirements-devstack.txt) are never started in a container: compose sets DATABASE_URL,
# REDIS_URL and KAFKA_BOOTSTRAP_SERVERS. config/tests/test_compose.py checks that nothing the
# image runs imports them.
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt

# --- runtime ----------------------------------------------------------------------------
FROM python:3.11-slim AS runtime

ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    MEDIA_ROOT=/app/media

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin app

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# The code stays owned by root (read-only for the app user); only media is writable.
COPY . .
RUN mkdir -p /app/media && chown app:app /app/media

# Settings need the service URLs at import; collectstatic connects to none of them.
RUN DJANGO_DEBUG=false \
    DJANGO_SECRET_KEY=build-only \
    DATABASE_URL=postgres://x@localhost/x \
    REDIS_URL=redis://localhost:6379/0 \
    KAFKA_BOOTSTRAP_SERVERS=localhost:9092 \
    python manage.py collectstatic --noinput

USER app

EXPOSE 8000

CMD ["uvicorn", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--lifespan", "off"]
