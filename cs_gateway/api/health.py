"""The standard gRPC health service (grpc.health.v1.Health: Check and Watch) on the mTLS port.

It registers through the GuardedServer like every servicer, so only callers the policy lists
reach it (policy/default.toml: every authenticated role that may reach the CS). It reports
SERVING once the gateway has started, and NOT_SERVING for good when writes can no longer be
made (the store's writer process died) or the gateway is stopping.
"""

from __future__ import annotations

from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from .guard import GuardedServer
from .update_servicer import SERVICE_NAME as UPDATE_SERVICE_NAME

OVERALL = health.OVERALL_HEALTH  # "": the whole gateway
SERVICES = (OVERALL, UPDATE_SERVICE_NAME)


class GatewayHealth:
    def __init__(self) -> None:
        self._servicer = health.aio.HealthServicer()

    def register(self, server: GuardedServer) -> None:
        health_pb2_grpc.add_HealthServicer_to_server(self._servicer, server)

    async def serving(self) -> None:
        for service in SERVICES:
            await self._servicer.set(service, health_pb2.HealthCheckResponse.SERVING)

    async def set_service(self, service: str, serving: bool) -> None:
        """One service's status (e.g. the prefecture notifier's backlog warning)."""
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        await self._servicer.set(service, status)

    async def not_serving(self) -> None:
        """Every service NOT_SERVING, permanently (later set() calls are ignored)."""
        await self._servicer.enter_graceful_shutdown()
