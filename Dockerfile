# syntax=docker/dockerfile:1
# The reconciler daemon: `docker build -t edge-routing-reconciler .`
# (podman: `podman build --format docker ...`, which keeps HEALTHCHECK and SHELL).
#
# The final image is FROM scratch: Debian trixie's python3 and nodejs unpacked with only
# the libraries they load (scripts/image-rootfs.sh), the virtualenv installed from the
# lock (requirements/runtime.txt: exact versions, sha256 hashes), the example repository.
# No shell, no package manager, no git (the built-in git source is dulwich), no compiler.
# Debugging: `kubectl debug` / `docker run --pid container:...` with a toolbox image.
#
# Stages:
#   rootfs    the run-time root file system (Python, Node.js, libraries, CA certificates);
#   builder   builds the project's wheel with the locked build backend and installs it
#             plus the locked dependencies into /opt/venv (no bytecode);
#   assemble  puts the two together, removes what nothing loads (scripts/image-prune.py)
#             and writes bytecode for what the daemon imports (scripts/warm-bytecode.py),
#             inside the tree, so paths match at run time;
#   final     FROM scratch + that tree.
#
# Runtime contract (see docs/operations.md):
#   - every setting is a RECONCILER_* environment variable (the table in the guide);
#   - the root file system may be read-only: writable state lives in the volume
#     /var/lib/reconciler (suspend flag, drift baseline, built-in git checkout) and /tmp;
#   - GET /healthz on RECONCILER_HTTP_PORT is the health check; /readyz the readiness;
#   - SIGTERM lets the running pass finish within RECONCILER_SHUTDOWN_TIMEOUT (2m): give
#     the engine a longer stop timeout (`docker run --stop-timeout 150`).
#
# Build arg BASE_IMAGE: the Debian release both Python and Node come from (trixie: Node 20,
# the harness needs >= 20; Python 3.13).

ARG BASE_IMAGE=debian:trixie-slim

FROM ${BASE_IMAGE} AS rootfs
ARG DEBIAN_FRONTEND=noninteractive
COPY scripts/image-rootfs.sh /usr/local/bin/image-rootfs.sh
RUN ["bash", "/usr/local/bin/image-rootfs.sh", "/rootfs"]

FROM ${BASE_IMAGE} AS builder
ARG DEBIAN_FRONTEND=noninteractive
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# python3-venv: the virtualenvs. No Node.js or npm: the function harness's JavaScript
# (acorn, the stand-in of the Lambda runtime's AWS SDK) ships inside the wheel.
# Versions come from the pinned base image's Debian release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
# The locked build backend (a venv of its own), then the locked run-time dependencies:
# --require-hashes installs exactly the pinned files and refuses anything unpinned.
COPY requirements/build.txt requirements/runtime.txt requirements/
RUN python3 -m venv /opt/build \
    && /opt/build/bin/pip install --require-hashes -r requirements/build.txt \
    && python3 -m venv --without-pip /opt/venv \
    && /opt/build/bin/pip --python /opt/venv/bin/python install --no-compile \
       --require-hashes -r requirements/runtime.txt
# The project: a wheel built with the locked backend, installed without dependencies. The
# image is built from the wheel: whatever the wheel carries is what runs.
COPY pyproject.toml README.md ./
COPY reconciler ./reconciler
RUN /opt/build/bin/pip wheel --no-build-isolation --no-deps --wheel-dir /tmp/wheels . \
    && /opt/build/bin/pip --python /opt/venv/bin/python install --no-compile --no-deps \
       /tmp/wheels/*.whl \
    && rm -rf /tmp/wheels
# The example repository, so the image runs `reconciler run --sandbox` out of the box; a
# real deployment points RECONCILER_ROUTES_DIR at its own checkout.
COPY routes /srv/edge-routing/routes
COPY edge_functions /srv/edge-routing/edge_functions

FROM ${BASE_IMAGE} AS assemble
COPY --from=rootfs /rootfs /rootfs
COPY --from=builder /opt/venv /rootfs/opt/venv
COPY --from=builder /srv/edge-routing /rootfs/srv/edge-routing
COPY scripts/image-prune.py scripts/warm-bytecode.py /rootfs/tmp/
# What nothing in the image loads goes first: moto's packages for services the embedded
# sandbox does not serve, botocore's documentation examples (scripts/image-prune.py).
# Then bytecode, in the final tree (its python, its paths): the .pyc files land where they
# are read, and importing every served service proves the pruning kept what they need.
RUN ["chroot", "/rootfs", "/opt/venv/bin/python", "/tmp/image-prune.py"]
# hadolint ignore=DL3059
RUN ["chroot", "/rootfs", "/opt/venv/bin/python", "/tmp/warm-bytecode.py"]
# hadolint ignore=DL3059
RUN ["rm", "/rootfs/tmp/warm-bytecode.py", "/rootfs/tmp/image-prune.py"]

FROM scratch
LABEL org.opencontainers.image.title="edge-routing-reconciler" \
      org.opencontainers.image.description="GitOps reconciler for CloudFront dynamic origin routing" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=assemble /rootfs /

# Python writes no .pyc at runtime (the root file system may be read-only; the build wrote
# them for what the daemon imports). HOME is the state volume so boto3 finds a writable home.
ENV PATH=/opt/venv/bin:/usr/bin \
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
