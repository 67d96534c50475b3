"""The upload service's own metrics (the request metrics are in ``shared.metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

UPLOAD_BYTES = Counter("wheelhouse_upload_bytes", "Bytes of distribution files stored")
UPLOAD_FILE_BYTES = Histogram(
    "wheelhouse_upload_file_bytes", "Sizes of the distribution files stored",
    buckets=(10_000, 100_000, 1_000_000, 10_000_000, 50_000_000, 100_000_000, 500_000_000, 1_000_000_000),
)


def record_stored_file(size: int) -> None:
    UPLOAD_BYTES.inc(size)
    UPLOAD_FILE_BYTES.observe(size)
