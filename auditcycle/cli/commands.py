"""Import every command module so each registers its commands on the app, in the order of the month."""
import importlib

# One module per concept; the order here is the order `auditcycle --help` lists the commands in.
COMMAND_MODULES = ("storage", "settings", "demo", "imports", "runs", "sampling", "booking", "submissions",
                   "immediate_responses", "moderation", "actions", "observations", "learning", "report",
                   "tracker", "privacy", "serve", "cluster", "delivery", "web")

for _name in COMMAND_MODULES:
    importlib.import_module(f"auditcycle.cli.{_name}")
