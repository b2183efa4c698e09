# syntax=docker/dockerfile:1
# The reconciler daemon: `docker build -t edge-routing-reconciler .`
#
# Two stages. The builder makes a wheel from pyproject.toml (the one dependency list),
# installs it into a virtualenv and runs `npm ci` for the JavaScript the daemon runs at
# runtime (the function test harness inside the package; the example Lambda@Edge
# function's SDK, for `reconciler test-functions` on the bundled example). The final stage
# gets that virtualenv, Node.js from Debian (the harness runs edge code in node) and git
# (the built-in git source): no compiler, no npm, no pip cache.
#
# Runtime contract (see docs/operations.md):
#   - every setting is a RECONCILER_* environment variable (the table in the guide);
#   - the root file system may be read-only: writable state lives in the volume
#     /var/lib/reconciler (suspend flag, drift baseline, built-in git checkout) and /tmp;
#   - GET /healthz on RECONCILER_HTTP_PORT is the health check; /readyz the readiness.
#
# Build args: PYTHON_IMAGE (Debian trixie: its nodejs is 20, the harness needs >= 20),
# EXTRAS=sandbox adds the embedded emulated AWS (`reconciler run --sandbox`, demos only).

ARG PYTHON_IMAGE=python:3.11-slim-trixie

FROM ${PYTHON_IMAGE} AS builder
ARG EXTRAS=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# Versions come from the pinned base image's Debian release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY reconciler ./reconciler
# The wheel carries the harness sources but not node_modules (git-ignored), so the npm
# install happens where the package is installed (-P: /src/reconciler must not shadow
# the installed package when asking where that is).
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip wheel --no-deps --wheel-dir /tmp/wheels . \
    && wheel="$(ls /tmp/wheels/*.whl)" \
    && /opt/venv/bin/pip install "${wheel}${EXTRAS:+[${EXTRAS}]}" \
    && js="$(/opt/venv/bin/python -P -c 'import reconciler.functions.node as n; print(n.JS_DIR)')" \
    && npm ci --prefix "$js" --omit=dev --no-audit --no-fund --loglevel=error \
    && rm -rf /tmp/wheels /root/.npm
# The example repository, so the image runs `reconciler run --sandbox` out of the box; a
# real deployment points RECONCILER_ROUTES_DIR at its own checkout.
COPY routes /srv/edge-routing/routes
COPY edge_functions /srv/edge-routing/edge_functions
RUN find /srv/edge-routing -name package-lock.json -printf '%h\n' \
    | xargs -r -I{} npm ci --prefix {} --no-audit --no-fund --loglevel=error \
    && rm -rf /root/.npm

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="edge-routing-reconciler" \
      org.opencontainers.image.description="GitOps reconciler for CloudFront dynamic origin routing" \
      org.opencontainers.image.licenses="Apache-2.0"
# nodejs: the function test harness runs edge code before anything is published.
# git: the built-in git source (RECONCILER_GIT_URL). ca-certificates: HTTPS to AWS and git.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs git ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 reconciler \
    && useradd --system --uid 10001 --gid reconciler --home-dir /var/lib/reconciler \
       --shell /usr/sbin/nologin reconciler \
    && mkdir -p /var/lib/reconciler \
    && chown reconciler:reconciler /var/lib/reconciler
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /srv/edge-routing /srv/edge-routing

# Python writes no .pyc at runtime (the root file system may be read-only; pip compiled
# them at install). HOME is the state volume so git and boto3 find a writable home.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/reconciler \
    RECONCILER_STATE_DIR=/var/lib/reconciler \
    RECONCILER_HTTP_HOST=0.0.0.0 \
    RECONCILER_HTTP_PORT=8080 \
    RECONCILER_ROUTES_DIR=/srv/edge-routing/routes \
    RECONCILER_LOG_FORMAT=json
VOLUME ["/var/lib/reconciler"]
WORKDIR /srv/edge-routing
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('RECONCILER_HTTP_PORT', '8080'), timeout=4)"]
ENTRYPOINT ["reconciler"]
CMD ["run"]
