"""AWS clients from one factory, with botocore's retry configuration.

Retries (throttling, 5xx, connection errors) come from botocore's ``standard`` retry mode, never from
hand-written loops. On the local target the clients point at the embedded moto server with placeholder
credentials that only moto accepts (:attr:`energy_lib.config.Settings.credentials`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from energy_lib.config import Settings


@lru_cache(maxsize=64)
def client(service: str, settings: Settings) -> Any:
    """A boto3 client for ``service``, built once per settings and reused."""
    config = Config(
        retries={"mode": "standard", "max_attempts": settings.max_attempts},
        connect_timeout=5,
        read_timeout=30,
        tcp_keepalive=True,
    )
    options: dict[str, Any] = {"region_name": settings.region, "config": config, **settings.credentials}
    if settings.endpoint:
        options["endpoint_url"] = settings.endpoint
    return boto3.session.Session().client(service, **options)
