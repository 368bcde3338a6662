# monitor in a container. Two targets from one base:
#
#   docker build -t monitor .                                   # the daemon (default, last stage)
#   docker build --target datasette -t monitor-datasette .      # + Datasette, to read the store
#
# docker-compose.yml builds both. The store lives on the /data volume, the config in /config
# (the shipped config/ and seeds/ are in the image, so it runs as is; mount your own config
# over /config). Logs go to stdout. scripts/container-test builds and checks this file without
# a Docker engine.

FROM python:3.12-slim AS base

# A virtualenv keeps the app apart from the base's Python, whichever python3 that is.
ENV VIRTUAL_ENV=/opt/monitor \
    PATH=/opt/monitor/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN python3 -m venv /opt/monitor

# Dependencies first, read from pyproject.toml: a code change does not reinstall them.
COPY pyproject.toml /src/
RUN python3 -c 'import tomllib; print("\n".join(tomllib.load(open("/src/pyproject.toml", "rb"))["project"]["dependencies"]))' > /tmp/requirements.txt \
 && pip install --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# The project itself (`pip install .`), then a check that every dependency is there.
COPY README.md /src/
COPY monitor /src/monitor
RUN pip install --no-cache-dir --disable-pip-version-check --no-deps /src \
 && pip check \
 && rm -rf /src

# A non-root user owns the store; the config and seeds stay read-only (owned by root).
RUN groupadd --system --gid 10001 monitor \
 && useradd --system --uid 10001 --gid monitor --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin monitor \
 && mkdir -p /data \
 && chown monitor:monitor /data

# config/monitor.toml points its seeds source at ../seeds: /config/monitor.toml → /seeds.
COPY config/ /config/
COPY seeds/ /seeds/

# TZ: log time stamps (the base's tzdata) and zoneinfo (the tzdata package) follow it.
ENV MONITOR_DB=/data/monitor.db \
    MONITOR_CONFIG=/config/monitor.toml \
    MONITOR_LOG_FORMAT=text \
    TZ=UTC
VOLUME ["/data"]
WORKDIR /data
USER monitor
STOPSIGNAL SIGTERM


# Datasette over the store, read-only: same Python, same monitor package (its plugin uses
# monitor.fulltext for Chinese search). Serve it with the /data volume mounted read-only.
FROM base AS datasette
ARG DATASETTE_REQUIREMENT="datasette>=0.65,<1"
USER root
RUN pip install --no-cache-dir --disable-pip-version-check "$DATASETTE_REQUIREMENT" \
 && pip check
COPY datasette/ /datasette/
USER monitor
EXPOSE 8001
HEALTHCHECK --interval=1m --timeout=10s --start-period=30s --retries=3 \
  CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8001/-/versions.json', timeout=5)"]
CMD ["datasette", "serve", "/data/monitor.db", "--host", "0.0.0.0", "--port", "8001", \
     "--metadata", "/datasette/metadata.yml", "--plugins-dir", "/datasette/plugins"]


# The daemon (the default target): polls due sources until SIGTERM, one log line per poll.
FROM base AS monitor
HEALTHCHECK --interval=1m --timeout=30s --start-period=2m --retries=3 \
  CMD ["monitor", "health"]
CMD ["monitor", "run"]
