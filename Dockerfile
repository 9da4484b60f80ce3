# syntax=docker/dockerfile:1
# Bastion gateway image: build wheels in one stage, run from a slim stage with
# no compilers, no pip, no package manager, as a non-root numeric user.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/bastion \
 && /opt/bastion/bin/pip install --no-compile ".[serve,guards,monitor,postgres]" \
 && /opt/bastion/bin/pip uninstall --yes pip setuptools wheel \
 && find /opt/bastion -name '__pycache__' -type d -prune -exec rm -rf {} +

FROM ${PYTHON_IMAGE} AS runtime
# Remove the package managers the base image ships; the final stage only runs Python.
RUN rm -rf /usr/local/lib/python3.11/site-packages/pip /usr/local/bin/pip* \
      /usr/bin/apt* /usr/bin/dpkg* /var/lib/apt /var/cache/apt \
 && mkdir -p /data \
 && chown 10001:10001 /data
COPY --from=build /opt/bastion /opt/bastion
ENV PATH=/opt/bastion/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BASTION_HOME=/data \
    BASTION_SERVING__HOST=0.0.0.0 \
    BASTION_SERVING__PORT=8000
USER 10001:10001
WORKDIR /data
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["bastion"]
CMD ["serve"]
