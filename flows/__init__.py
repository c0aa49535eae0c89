"""Prefect flows, one per phase of the month: thin orchestration over the tasks."""
