"""Import every command module so each registers its commands on the app."""
from . import cycle, imports, lists, seed, setup  # noqa: F401
