# syntax=docker/dockerfile:1.7
# The data runtime's sandbox image (python3.13-data): the bare runtime image with the locked
# data stack at /opt/packages, where the entry finds it (packages=/opt/packages), the same
# hook, matplotlib backend and fontconfig settings the local runner's data runtime has, and
# matplotlib's font list built once. Build the bare image first, then from the repository root:
#   docker build -f deploy/images/runtime-python-data.Dockerfile -t integr8scode/runtime-python-data:3.13 .
ARG RUNTIME_IMAGE=integr8scode/runtime-python:3.13

FROM python:3.13-slim AS packages
COPY runtimes/python-data/ /build/
RUN python -m pip install --no-cache-dir --require-hashes --no-deps --only-binary :all: \
      --target /opt/packages -r /build/requirements.txt \
 && cp /build/site/* /opt/packages/ \
 && python -m compileall -q /opt/packages \
 && ln -s /opt/packages /opt/site-packages \
 && python /build/finish.py /opt /opt/packages \
 && rm /opt/site-packages

FROM ${RUNTIME_IMAGE}
COPY --from=packages --chmod=a-w /opt/packages /opt/packages
COPY --from=packages --chmod=a-w /opt/matplotlib /opt/matplotlib
