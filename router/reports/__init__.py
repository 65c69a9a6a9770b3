"""Interval and daily reports: aggregation of committed events (off the routing path),
their storage, and the queries behind ``GET /v1/reports``."""
