"""The table of who may do what is defined once in code and shown, the same, in the README."""
import re
from pathlib import Path

from auditcycle.permissions import PERMISSIONS


def test_readme_table_matches_the_code() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Who may do what", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (`.+?`.*?) \| (.+?) \|$", section, flags=re.M)
    documented = {}
    for commands, who in rows:
        for command in re.findall(r"`([a-z-]+)`", commands):
            documented[command] = who
    assert documented == {command: who for command, (_, who) in PERMISSIONS.items()}
