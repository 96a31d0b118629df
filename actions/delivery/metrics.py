"""What the delivery worker shows Prometheus at http://127.0.0.1:METRICS_PORT/metrics: the queue of
deliveries (read from the store at each scrape, so every worker shows the same queue) and this
worker's failed attempts by channel. Counts only, never a reference or an address."""
from __future__ import annotations

import logging
from typing import Iterator, Optional

from prometheus_client import CollectorRegistry, Counter, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from actions.delivery.store import pending_deliveries, utcnow

log = logging.getLogger("actions.delivery.worker")

REGISTRY = CollectorRegistry(auto_describe=True)
FAILURES = Counter("cosp_delivery_failures", "Failed delivery attempts, by channel", ["channel"], registry=REGISTRY)
ALARM = Counter("cosp_delivery_alarms", "Times the stuck-delivery alarm was raised", registry=REGISTRY)


class QueueCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> list:
        return []  # read at scrape time only, never at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("cosp_store_up", "1 when the worker could read the referral store for this scrape")
        try:
            count, oldest_at, _ = pending_deliveries(self.engine)
        except Exception as error:  # the store is down: say so, rather than fail the scrape
            log.warning("metrics: the store could not be read (%s)", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        pending = GaugeMetricFamily("cosp_deliveries_pending", "Delivery jobs waiting to reach staff")
        pending.add_metric([], count)
        yield pending
        oldest = GaugeMetricFamily("cosp_delivery_oldest_pending_seconds",
                                   "How long the oldest waiting delivery has waited (0: none waiting)")
        oldest.add_metric([], max(0.0, (utcnow() - oldest_at).total_seconds()) if oldest_at else 0.0)
        yield oldest


def serve(engine: Engine, port: int) -> Optional[object]:
    """Starts /metrics on 127.0.0.1:`port` (0: none); a port in use is logged, not fatal."""
    if not port:
        return None
    REGISTRY.register(QueueCollector(engine))
    try:
        server, _ = start_http_server(port, addr="127.0.0.1", registry=REGISTRY)
    except OSError as error:
        log.error("metrics: cannot listen on 127.0.0.1:%d (%s); the worker runs without them", port, type(error).__name__)
        return None
    log.info("metrics on http://127.0.0.1:%d/metrics", port)
    return server
