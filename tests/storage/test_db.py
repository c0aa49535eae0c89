"""Engines: a database URL whose driver is not installed, or that names no database, is one line saying what to do."""
import os
import subprocess
import sys

import pytest

from auditcycle.core.errors import UserError
from auditcycle.storage import db

POSTGRES = "postgresql://auditor@localhost/auditcycle"
NO_PSYCOPG = ("database_url is a PostgreSQL one, and its driver psycopg is not installed: "
              "run pip install 'auditcycle[postgres]'")


def test_a_postgresql_url_without_psycopg_names_the_extra_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as an install without the postgres extra has it

    with pytest.raises(UserError) as refused:
        db.make_engine(POSTGRES)

    assert str(refused.value) == NO_PSYCOPG


def test_a_url_naming_a_driver_not_installed_names_it() -> None:
    with pytest.raises(UserError) as refused:
        db.make_engine("postgresql+pg8000://auditor@localhost/auditcycle")

    assert str(refused.value) == ("database_url names the driver pg8000, which is not installed (no module 'pg8000'); "
                                  "install it, or write postgresql://user@host/db and run "
                                  "pip install 'auditcycle[postgres]'")


def test_a_url_naming_no_known_database_says_what_to_write() -> None:
    with pytest.raises(UserError) as refused:
        db.make_engine("postgres+nosuch://auditor:secret@localhost/auditcycle")

    assert str(refused.value) == ("database_url: SQLAlchemy knows no database 'postgres+nosuch'; "
                                  "write sqlite:///file.db or postgresql://user@host/db")


def test_init_on_postgresql_without_psycopg_prints_one_line_not_a_traceback(tmp_path) -> None:
    # The command as a new user starts it, in a process of its own whose psycopg is missing.
    program = ("import sys; sys.modules['psycopg'] = None; sys.argv = ['auditcycle', 'init']; "
               "from auditcycle.cli import main; main()")
    env = {**os.environ, "AUDITCYCLE_DATABASE_URL": POSTGRES}
    env.pop("AUDITCYCLE_CONFIG", None)

    done = subprocess.run([sys.executable, "-c", program], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)

    assert (done.returncode, done.stdout, done.stderr) == (1, "", f"error: {NO_PSYCOPG}\n")
