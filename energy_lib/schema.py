"""DynamoDB tables: keys, indexes and attribute names, as data.

Storage and queries use these names; the local provisioner creates the tables from them; a test checks
``terraform/`` declares the same. Query costs (DESIGN.md) come from this layout:

readings  (site_id, timestamp)            one site, optional range: key condition
  by_day            (day, timestamp)      all sites in a range: one query per UTC day bucket
  site_anomalies    (site_id, anomaly_at) sparse: only anomalies carry ``anomaly_at``
  fleet_anomalies   (anomaly_day, anomaly_at)  sparse, all sites in a range
rollups   (bucket, site_id)               bucket ``T`` (all time), ``D#2025-06-11`` or ``H#2025-06-11T13``:
                                          summaries read sites x periods items, never readings; also
                                          the expiring markers that make rollup changes idempotent
ledger    (source_key, etag)              one entry per source object version
  by_status         (status, updated_at)  e.g. every failed object
sites     (record, id)                    the site registry (``record = "site"``, ``id`` = site id): one Query
                                          lists it; and the expiring markers (``record = "alert"``) that let
                                          a site-health alert be published once per check and period
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Index:
    name: str
    partition_key: str
    sort_key: str


@dataclass(frozen=True, slots=True)
class Table:
    setting: str  # the Settings field that holds the table's name
    partition_key: str
    sort_key: str
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str = ""  # epoch seconds after which DynamoDB deletes the item

    def attributes(self) -> dict[str, str]:
        """Every key attribute of the table and its indexes, with its DynamoDB type (all strings)."""
        names = [self.partition_key, self.sort_key]
        for index in self.indexes:
            names += [index.partition_key, index.sort_key]
        return {name: "S" for name in dict.fromkeys(names)}


READINGS = Table(
    setting="readings_table",
    partition_key="site_id",
    sort_key="timestamp",
    indexes=(
        Index("by_day", "day", "timestamp"),
        Index("site_anomalies", "site_id", "anomaly_at"),
        Index("fleet_anomalies", "anomaly_day", "anomaly_at"),
    ),
)
ROLLUPS = Table(setting="rollups_table", partition_key="bucket", sort_key="site_id", ttl_attribute="expires_at")
LEDGER = Table(
    setting="ledger_table",
    partition_key="source_key",
    sort_key="etag",
    indexes=(Index("by_status", "status", "updated_at"),),
)
SITES = Table(setting="sites_table", partition_key="record", sort_key="id", ttl_attribute="expires_at")
TABLES = (READINGS, ROLLUPS, LEDGER, SITES)

# Ledger statuses. Final ones end `energy-workbook wait`.
PROCESSING = "processing"
PROCESSED = "processed"
REJECTED = "rejected"  # the whole file could not be parsed; copied to quarantine
FAILED = "failed"  # an error; the message is retried and ends in the dead-letter queue
FINAL_STATUSES = (PROCESSED, REJECTED)
