"""Connect the workbook to a target: settings, a running local stack when needed, and clients."""

from __future__ import annotations

from typing import Any

from energy_lib.clients import client
from energy_lib.config import Settings
from energy_lib.workbook.local_stack import ensure_running


def connect(target: str = "local", **overrides: Any) -> Settings:
    """Settings for ``target`` ("local" or "aws"); on the local target the stack is started if needed."""
    return ensure_running(Settings.from_env(target=target, **overrides))


def aws(settings: Settings, service: str) -> Any:
    """A client for ``service`` on the settings' target (the local stack is started if needed)."""
    return client(service, ensure_running(settings))
