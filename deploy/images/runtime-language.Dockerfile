# syntax=docker/dockerfile:1.7
# The image a sandbox pod of one of the other languages runs (executions/runners/languages.py):
# Debian's toolchain for it (bookworm, the packages `make RUNTIMES=...` installs on a machine),
# the sandbox entry and its system-call filter, and the Python the entry runs on. One image per
# language; the workflow builds each (.github/workflows/ci.yml, job language-images):
#   docker build -f deploy/images/runtime-language.Dockerfile \
#     --build-arg PACKAGES="gcc libc6-dev" -t integr8scode/runtime-c:12.2.0 .
# The runner starts the language's commands by the paths Debian gives them (/usr/bin/...), and
# reports the image's tag as the runtime's version: tag it with the toolchain's.

FROM python:3.13-slim-bookworm AS filter
COPY executions/runners/local/seccomp.py /build/seccomp.py
RUN python /build/seccomp.py /build/filter.bpf

FROM python:3.13-slim-bookworm
ARG PACKAGES
# A script has no use for pip, and whatever is not there cannot be misused.
RUN test -n "$PACKAGES" \
 && apt-get update \
 && apt-get install -y --no-install-recommends $PACKAGES \
 && rm -rf /var/lib/apt/lists/* \
 && rm -rf /usr/local/lib/python3.13/site-packages/pip /usr/local/lib/python3.13/site-packages/pip-* \
           /usr/local/bin/pip /usr/local/bin/pip3* \
 && groupadd --gid 65532 sandbox \
 && useradd --uid 65532 --gid sandbox --home-dir /tmp --no-create-home --shell /usr/sbin/nologin sandbox
COPY --chmod=0444 executions/sandbox/entry.py /opt/integr8scode/entry.py
COPY --from=filter --chmod=0444 /build/filter.bpf /opt/integr8scode/filter.bpf
# The runner sets the uid (one per pod), the command and its arguments; these are defaults.
USER 65532:65532
WORKDIR /tmp
ENV HOME=/tmp LANG=C.UTF-8
CMD ["/usr/local/bin/python", "-I", "-S", "/opt/integr8scode/entry.py"]
