"""DynamoDB tables: keys, indexes and attribute names, as data.

Storage and queries use these names; the local provisioner creates the tables from them; a test checks
``terraform/`` declares the same. Query costs (DESIGN.md) come from this layout:

readings  (site_id, timestamp)            the hot store: one site, optional range: key condition; a stream with
                                          new and old images feeds the rollups and the lake (energy_lib.aggregator);
                                          items expire (``expires_at``) after the hot window (energy_lib.expiry)
  site_anomalies    (site_id, anomaly_at) sparse: only anomalies carry ``anomaly_at``
  fleet_anomalies   (anomaly_day, anomaly_at)  sparse, all sites in a range
rollups   (bucket, site_id)               bucket ``T`` (all time), ``D#2025-06-11`` or ``H#2025-06-11T13``:
                                          summaries read sites x periods items, never readings
ledger    (source_key, version_id)        one entry per source object version, and one head per key; both expire
                                          (``expires_at``) a while after the hot window (energy_lib.ledger)
  problems          (problem, updated_at) sparse: only failed and rejected entries carry ``problem``
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
    stream_view_type: str = ""  # the table's stream, when it has one

    def attributes(self) -> dict[str, str]:
        """Every key attribute of the table and its indexes, with its DynamoDB type (all strings)."""
        names = [self.partition_key, self.sort_key]
        for index in self.indexes:
            names += [index.partition_key, index.sort_key]
        return {name: "S" for name in dict.fromkeys(names)}


# No index by day: the readings of all sites in a range come from the lake, and inside the hot window from one
# Query per site (the same items read; docs/hot-store.md has the figures). Such an index cost a write unit per
# reading and doubled the table's storage.
READINGS = Table(
    setting="readings_table",
    partition_key="site_id",
    sort_key="timestamp",
    indexes=(
        Index("site_anomalies", "site_id", "anomaly_at"),
        Index("fleet_anomalies", "anomaly_day", "anomaly_at"),
    ),
    ttl_attribute="expires_at",
    stream_view_type="NEW_AND_OLD_IMAGES",
)
# The time to live expires the marker items that the earlier, transactional rollups left (``applied#...``
# buckets, at most 30 days after the migration); the aggregator writes none.
ROLLUPS = Table(setting="rollups_table", partition_key="bucket", sort_key="site_id", ttl_attribute="expires_at")
LEDGER = Table(
    setting="ledger_table",
    partition_key="source_key",
    sort_key="version_id",
    indexes=(Index("problems", "problem", "updated_at"),),
    ttl_attribute="expires_at",
)
SITES = Table(setting="sites_table", partition_key="record", sort_key="id", ttl_attribute="expires_at")
SITE_RECORD = "site"  # the sites table's partition that holds the registry (``id``: the site id)
TABLES = (READINGS, ROLLUPS, LEDGER, SITES)

# Ledger statuses. Final ones end `energy-workbook wait`.
PENDING = "pending"  # no attempt yet (shown by ingest status; never stored)
PROCESSING = "processing"  # an attempt holds the key's lease (shown by ingest status; the head says so)
PROCESSED = "processed"
REJECTED = "rejected"  # the whole file could not be parsed; copied to quarantine
SUPERSEDED = "superseded"  # a newer version of the key was processed, or is being processed: nothing written
FAILED = "failed"  # an error, or a lease that expired; the message is retried and ends in the dead-letter queue
EXPIRED = "expired"  # the object's ledger items aged out with the hot window (shown by ingest status; never stored)
FINAL_STATUSES = (PROCESSED, REJECTED, SUPERSEDED)
PROBLEM_STATUSES = (FAILED, REJECTED)  # the entries in the sparse ``problems`` index
