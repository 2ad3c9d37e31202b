# syntax=docker/dockerfile:1.7
# The image every Python sandbox pod runs: CPython 3.13, the sandbox entry and its system-call
# filter, nothing else. Build from the repository root:
#   docker build -f deploy/images/runtime-python.Dockerfile -t integr8scode/runtime-python:3.13 .

# The filter is compiled (with libseccomp, which apt needs anyway) for the architecture the
# image is built for: a multi-arch build gives each its own.
FROM python:3.13-slim AS filter
COPY executions/runners/local/seccomp.py /build/seccomp.py
RUN python /build/seccomp.py /build/filter.bpf

FROM python:3.13-slim
# A script has no use for pip, and whatever is not there cannot be misused.
RUN rm -rf /usr/local/lib/python3.13/site-packages/pip /usr/local/lib/python3.13/site-packages/pip-* \
           /usr/local/bin/pip /usr/local/bin/pip3* \
 && groupadd --gid 65532 sandbox \
 && useradd --uid 65532 --gid sandbox --home-dir /tmp --no-create-home --shell /usr/sbin/nologin sandbox
COPY --chmod=0444 executions/sandbox/entry.py /opt/integr8scode/entry.py
COPY --from=filter --chmod=0444 /build/filter.bpf /opt/integr8scode/filter.bpf
# The runner sets the uid (one per pod), the command and its arguments; these are defaults.
USER 65532:65532
WORKDIR /tmp
ENV HOME=/tmp LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1
CMD ["/usr/local/bin/python", "-I", "-S", "/opt/integr8scode/entry.py"]
