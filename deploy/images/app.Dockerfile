# syntax=docker/dockerfile:1.7
# The application image: the web (Daphne), the executors, the reaper and the migrations.
# Build from the repository root:
#   docker build -f deploy/images/app.Dockerfile -t integr8scode/app:dev .

ARG PYTHON_IMAGE=python:3.13-slim
ARG NODE_IMAGE=node:22-slim
# Keep in step with UV_VERSION in the Makefile: the same uv resolves the same uv.lock.
ARG UV_VERSION=0.13.8

# --- the Svelte islands (when the project has them), built into static/islands/ ------------
FROM ${NODE_IMAGE} AS islands
WORKDIR /src
COPY . .
RUN if [ -f svelte-islands/package.json ]; then \
      cd svelte-islands && npm ci --no-audit --no-fund && npm run build; \
    fi \
 && mkdir -p /src/static/islands

# --- the locked Python dependencies, into /opt/venv --------------------------------------------
FROM ${PYTHON_IMAGE} AS dependencies
ARG UV_VERSION
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /app
COPY pyproject.toml uv.lock ./
ENV UV_PROJECT_ENVIRONMENT=/opt/venv UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN uv sync --frozen --no-dev --no-install-project --python /usr/local/bin/python3.13

# --- the image -------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app
COPY --from=dependencies /opt/venv /opt/venv
WORKDIR /app
COPY . .
COPY --from=islands /src/static/islands ./static/islands
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STATIC_ROOT=/app/staticfiles \
    VAR_DIR=/var/lib/integr8scode
# Static files are collected now (settings load in embedded mode, in a throwaway VAR_DIR), and
# the code is compiled now: the root filesystem is read-only at run time.
RUN VAR_DIR=/tmp/build-var python manage.py collectstatic --noinput --skip-checks -v 0 \
 && rm -rf /tmp/build-var \
 && python -m compileall -q -j 0 accounts executions integr8scode manage.py \
 && install -d -o app -g app /var/lib/integr8scode
USER 10001:10001
EXPOSE 8000
CMD ["python", "-m", "integr8scode.serve", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "integr8scode.asgi:application"]
