"""Errors raised by energy_lib: one base class, narrow subclasses."""

from __future__ import annotations


class EnergyError(Exception):
    """Base class of every error energy_lib raises on purpose."""


class ConfigError(EnergyError):
    """A setting is missing or has a value that cannot work."""


class UnparseableFile(EnergyError):
    """A source object cannot be read as any input format, or breaks a limit; it is quarantined whole.

    ``reason`` is a short code (``not_json``, ``too_large``, ...: see :mod:`energy_lib.parsing`); the
    message is ``"<reason>: <what was found where>"``.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class StaleEvent(EnergyError):
    """The notification names an object version that no longer exists; nothing to do."""


class LocalStackError(EnergyError):
    """The embedded local AWS could not be started, reached or stopped."""


class QueryError(EnergyError):
    """A query was asked with arguments that cannot be answered (bad site id, bad time range)."""


class WaitTimeout(EnergyError):
    """Processing did not finish before the deadline."""


class LakeError(EnergyError):
    """The history lake cannot answer or be written (a failed query, a failed cleanup)."""


class LakeQueryError(LakeError, QueryError):
    """SQL the lake refuses (a syntax error, an unknown table or column, a value that does not convert): the
    asker's mistake, said in one line."""
