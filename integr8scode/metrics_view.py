"""``/metrics`` for Prometheus, open only to allowed networks or a bearer token."""

import hmac
import ipaddress
import logging

from django.conf import settings
from django.http import HttpResponseForbidden
from django_prometheus.exports import ExportToDjangoView
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

METRICS_FORBIDDEN = "Metrics are not available to this client."


def metrics_allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.METRICS_ALLOWED_NETWORKS)


def metrics(request):
    if not metrics_allowed(request):
        return HttpResponseForbidden(METRICS_FORBIDDEN, content_type="text/plain")
    return ExportToDjangoView(request)


class QueueCollector:
    """Queue depth and running executions, counted in MongoDB at scrape time."""

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily("integr8scode_executions", "Executions by non-final status.", labels=["status"])

    def describe(self):
        # Registering must not touch MongoDB (it may be down while the process starts).
        yield self._family()

    def collect(self):
        from executions.documents import Execution, Status

        gauge = self._family()
        try:
            counts = {status: Execution.objects(status=status).count() for status in (Status.QUEUED, Status.RUNNING)}
        except Exception:  # MongoDB unreachable: /readyz says so; the scrape still succeeds
            log.warning("could not count executions for /metrics", exc_info=True)
            return
        for status, count in counts.items():
            gauge.add_metric([status], count)
        yield gauge


REGISTRY.register(QueueCollector())
