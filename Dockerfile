# Both service images, from one build stage. Build from the repository root:
#   docker build --target orchestrator -t llm-orchestrator:local .
#   docker build --target mock-provider -t llm-mock-provider:local .
# PYTHON_IMAGE: any image with python3 >= 3.11 and its venv module (default: the official one;
# CI passes a locally built Debian base). With wheels in wheelhouse/ (scripts/docker/wheelhouse.sh)
# the build needs no package index.
ARG PYTHON_IMAGE=python:3.12-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /build
COPY scripts/docker/image-install.sh /build/
# pyproject.toml rides along so this COPY has a source even when wheelhouse/ does not exist.
COPY pyproject.toml wheelhouse* /build/wheels/
# "python3", not "python": Debian's own python3 package ships no "python" command.
# Dependencies get their own layer, so a source change does not reinstall them.
RUN python3 -m venv /opt/venv && sh /build/image-install.sh dependencies
COPY pyproject.toml README.md /build/src/
COPY shared /build/src/shared
COPY orchestrator /build/src/orchestrator
COPY mock_provider /build/src/mock_provider
# Always built from these sources, so the image runs the checked-out code.
RUN sh /build/image-install.sh project

# What both services' images share: the venv, an unprivileged user, a health check on the
# service's own port. Exec-form entry points: no shell in between, so `docker stop`'s
# SIGTERM reaches Python and aiohttp drains in-flight requests before exiting.
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PATH=/opt/venv/bin:$PATH
RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --no-create-home app
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
# urllib, not curl: slim images have no curl. urlopen raises on any non-2xx answer.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/opt/venv/bin/python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"SERVICE_PORT\"]}{os.environ[\"HEALTH_PATH\"]}', timeout=2)"]

FROM runtime AS mock-provider
ENV SERVICE_PORT=8001 HEALTH_PATH=/health
EXPOSE 8001
ENTRYPOINT ["/opt/venv/bin/python", "-m", "mock_provider"]
CMD ["--host", "0.0.0.0", "--port", "8001"]

# Last, so a plain `docker build .` builds the orchestrator.
# Readiness, as the README recommends: healthy while at least one deployment can serve.
FROM runtime AS orchestrator
ENV SERVICE_PORT=8080 HEALTH_PATH=/health/ready
EXPOSE 8080
ENTRYPOINT ["/opt/venv/bin/python", "-m", "orchestrator"]
CMD ["--host", "0.0.0.0", "--port", "8080"]
