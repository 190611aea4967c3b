"""`/metrics`: Prometheus scrapes ventwatch here (see `dashboard/metrics.py` for what it says).

Protected like every data route: room values are the site's data, and ingest's state is the
managers'. Prometheus sends an API token of an admin or site manager account
(`ventwatch users token NAME`) as `authorization: {credentials: ...}` in its scrape config;
without one it gets 401, as an API client does.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from ventwatch import __version__
from ventwatch.alerts.alerting import Alerting
from ventwatch.dashboard import metrics
from ventwatch.dashboard.auth import MANAGERS
from ventwatch.dashboard.deps import IngestDep, RoomsNowDep
from ventwatch.dashboard.routes.sensors import SensorsNowDep

router = APIRouter(tags=["api"])


@router.get("/metrics", dependencies=[Depends(MANAGERS)], response_class=Response)
def prometheus(
    request: Request, rooms: RoomsNowDep, sensors: SensorsNowDep, ingest: IngestDep
) -> Response:
    """The rooms now, ingest and the store, sensors' health, alerts and their deliveries."""
    families = metrics.room_families(rooms, __version__) + metrics.sensor_families(sensors)
    if ingest is not None:  # the dashboard runs without ingest in tests and read-only setups
        families += metrics.ingest_families(ingest)
    alerting: Alerting | None = request.app.state.alerting
    if alerting is not None:
        families += metrics.alert_families(
            alerting.records.unclosed_counts(), alerting.outbox.counts()
        )
    return Response(metrics.render(families), media_type=metrics.CONTENT_TYPE)
