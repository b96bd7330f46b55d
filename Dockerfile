# feedscrub: one container, its cache in the /data volume.
#
#   docker build -t feedscrub .
#   docker run -d --name feedscrub -p 8080:8080 -v feedscrub-data:/data feedscrub
#
# With podman, build in the Docker image format, or HEALTHCHECK is dropped:
#   BUILDAH_FORMAT=docker podman build -t feedscrub .
#
# Two stages: the first builds a virtualenv from the project's own metadata (pyproject.toml),
# the second copies only that venv onto a fresh base, so pip caches, sdists and any build
# tools stay behind. The venv's python links to the base image's python3; both stages use the
# same base, so the link holds.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

RUN python3 -m venv /opt/feedscrub \
    && /opt/feedscrub/bin/pip install --upgrade pip

WORKDIR /src

# Dependencies first, read from pyproject.toml itself (no second list to keep in step), in a
# layer of their own: changing the code does not reinstall them.
COPY pyproject.toml ./
RUN python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        >/tmp/requirements.txt \
    && /opt/feedscrub/bin/pip install -r /tmp/requirements.txt

# Then the project itself (the same metadata again, so nothing it needs can be missed).
COPY . .
RUN /opt/feedscrub/bin/pip install . \
    && /opt/feedscrub/bin/pip check \
    && /opt/feedscrub/bin/python -c "import proxy.cli, proxy.server" \
    && /opt/feedscrub/bin/pip uninstall --yes setuptools pip

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}

LABEL org.opencontainers.image.title="feedscrub" \
      org.opencontainers.image.description="Self-hosted feed-cleaning proxy: clean RSS/Atom items, proxied images, embedded cache" \
      org.opencontainers.image.licenses="MIT"

# An unprivileged user owns the cache volume; nothing runs as root.
RUN groupadd --gid 10001 feedscrub \
    && useradd --uid 10001 --gid feedscrub --home-dir /data --no-create-home --no-log-init \
        --shell /usr/sbin/nologin feedscrub \
    && mkdir -p /data \
    && chown feedscrub:feedscrub /data \
    && chmod 0700 /data

COPY --from=builder /opt/feedscrub /opt/feedscrub

# Logs go to stdout/stderr unbuffered. The image carries no secret: FEEDSCRUB_SECRET is
# generated on first start and kept in /data (file "secret", mode 0600).
ENV PATH=/opt/feedscrub/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FEEDSCRUB_CACHE_DIR=/data

WORKDIR /data
USER 10001:10001
VOLUME /data
EXPOSE 8080

# Exec form, no shell and no curl needed: `feedscrub healthcheck` asks GET /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["feedscrub", "healthcheck"]

# `feedscrub serve` stops gracefully on SIGTERM (finishes in-flight requests, closes the cache).
STOPSIGNAL SIGTERM
ENTRYPOINT ["feedscrub"]
CMD ["serve"]
