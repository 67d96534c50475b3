# One image for every Wheelhouse process: the four services (`python -m services.<svc>`),
# the three workers (`wheelhouse worker relay|search-indexer|purger`), the migration step
# (`wheelhouse db upgrade`) and, as the default command, the all-in-one `wheelhouse serve`.
# docker-compose.yml and the Kubernetes manifests run this image with different commands.
#
#   docker build -t wheelhouse:latest .
#   docker run --rm -p 8000:8000 -v wheelhouse-data:/data wheelhouse:latest
#
# Runs as uid/gid 10001 with a read-only root filesystem: it writes only to /tmp and, for
# the all-in-one default, to the data directory /data.

# ---- builder: a virtualenv with Wheelhouse and its dependencies --------------------------
FROM python:3.11-slim AS builder

# Compilers live here only, for any dependency without a wheel for this platform.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
# A regular (not editable) install: the runtime image needs the venv only, not /src.
# pip compiles the .pyc files here, so nothing is written at run time.
RUN /opt/venv/bin/pip install --no-cache-dir . \
    && /opt/venv/bin/pip uninstall -y pip setuptools wheel

# ---- runtime ----------------------------------------------------------------------------
FROM python:3.11-slim AS runtime

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="wheelhouse" \
      org.opencontainers.image.description="A self-hostable, PyPI-compatible package index" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --system --gid 10001 wheelhouse \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin wheelhouse \
    && mkdir -p /data /app \
    && chown 10001:10001 /data

COPY --from=builder /opt/venv /opt/venv

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WHEELHOUSE_DATA_DIR=/data \
    WHEELHOUSE_HOST=0.0.0.0 \
    WHEELHOUSE_PORT=8000

WORKDIR /app
# The all-in-one default keeps its SQLite database, files and key here. The split services
# (compose, Kubernetes) keep nothing in it: Postgres, S3 and the secret key come from settings.
VOLUME /data
# 8000: HTTP (every service); 9100: Prometheus metrics (WHEELHOUSE_METRICS_PORT).
EXPOSE 8000 9100

USER 10001:10001
CMD ["wheelhouse", "serve", "--host", "0.0.0.0"]
