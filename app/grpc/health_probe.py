"""A ``grpc.health.v1`` probe for containers and scripts without grpcurl.

    python -m app.grpc.health_probe [ADDRESS] [SERVICE]   # default 127.0.0.1:50051, "" (the server)

Exit status 0 when the answer is SERVING, 1 otherwise (NOT_SERVING while the
server drains, no answer within 3 s, or an error), like ``grpc_health_probe``.
Health needs no token.
"""

from __future__ import annotations

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def check(address: str, service: str = "", timeout: float = 3.0) -> str:
    """The health status name of ``service`` at ``address`` (``SERVING``, ``NOT_SERVING``, ...).

    Raises:
        grpc.RpcError: no answer (unreachable, deadline, unknown service: ``NOT_FOUND``).
    """
    with grpc.insecure_channel(address) as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service),
                                                             timeout=timeout)
    return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    address = args[0] if args else "127.0.0.1:50051"
    service = args[1] if len(args) > 1 else ""
    try:
        status = check(address, service)
    except grpc.RpcError as e:
        print(f"{address}: {e.code().name} {e.details()}", file=sys.stderr)
        return 1
    print(f"{address} {service or '(server)'}: {status}")
    return 0 if status == "SERVING" else 1


if __name__ == "__main__":
    sys.exit(main())
