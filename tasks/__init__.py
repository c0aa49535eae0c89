"""Prefect tasks: thin units of work over the domain functions, taking plain ids and strings."""
