"""Connect the workbook to a target once, at the start; clients are :func:`energy_lib.clients.client`.

:func:`connect` (notebooks) and :func:`ready` (the command line) check the settings and, on the local target,
start the local stack when it is not running: once, at the start. Building a client never touches the local
stack, so a loop that polls AWS, such as :func:`energy_lib.workbook.aws.ops.wait`, sends its requests and
nothing else.
"""

from __future__ import annotations

from typing import Any

from energy_lib.config import Settings
from energy_lib.errors import ConfigError
from energy_lib.workbook.local.stack import ensure_running

__all__ = ["connect", "ready"]


def ready(settings: Settings) -> Settings:
    """``settings``, ready to use: on AWS the deployment's names must be known (a clear error before any
    request otherwise); on the local target the stack is started if needed."""
    if settings.target == "aws" and not settings.alerts_topic_arn:
        raise ConfigError(
            "target 'aws' needs the deployment's names: set ENERGY_TERRAFORM_OUTPUTS to a saved "
            "`terraform output -json` file (or the ENERGY_* names, ENERGY_ALERTS_TOPIC_ARN among them)"
        )
    return ensure_running(settings)


def connect(target: str = "local", **overrides: Any) -> Settings:
    """Settings for ``target`` ("local" or "aws"), made :func:`ready`."""
    return ready(Settings.from_env(target=target, **overrides))
