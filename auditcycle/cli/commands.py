"""Import every command module so each registers its commands on the app."""
from auditcycle.cli import adhoc, cycle, imports, lists, retention, seed, serve, setup, simulate

COMMAND_MODULES = (adhoc, cycle, imports, lists, retention, seed, serve, setup, simulate)
