"""Import every command module so each registers its commands on the app."""
from . import adhoc, cycle, imports, lists, seed, serve, setup, simulate  # noqa: F401
