"""The cluster tests: a Prefect server on PostgreSQL, prefect.yaml deployed, and process workers."""
