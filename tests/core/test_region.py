"""A region's councils: the region file's checks, `init --all-councils`, a council's database behind the
migrations, the `council` parameter choosing the database, and each council's own deployments and work queue."""
from pathlib import Path

import pytest
import yaml
from alembic import command
from conftest import QA_MANAGER
from region_world import NORTH, SOUTH, council_values, second_database, seed, use_region, write_region
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from auditcycle.cli import app, commands  # noqa: F401  (registers every command)
from auditcycle.core.errors import UserError
from auditcycle.core.region import for_council
from auditcycle.core.settings import get_settings
from auditcycle.models import PhaseRun
from auditcycle.storage import db

runner = CliRunner()
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/nobody_here"


@pytest.fixture
def two_councils(authority, db_url, sqlite_template, tmp_path: Path, monkeypatch):
    """Northshire on the seeded test database, Southvale on a second seeded one; Northshire the default."""
    south_url = second_database(db_url, sqlite_template, tmp_path)
    south = db.make_engine(south_url)
    seed(south, 23, "2026-11-23T09:00")
    monkeypatch.chdir(tmp_path)
    use_region(monkeypatch, write_region(tmp_path, {NORTH: council_values(NORTH, db_url, 25),
                                                    SOUTH: council_values(SOUTH, south_url, 25)}))
    yield authority, south, south_url
    south.dispose()
    db.engine_for.cache_clear()
    get_settings.cache_clear()


def _phases(engine) -> list[str]:
    with sessionmaker(bind=engine)() as s:
        return sorted(s.scalars(select(PhaseRun.phase)))


def test_init_all_councils_names_the_failing_council_and_migrates_the_others(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    councils = {NORTH: council_values(NORTH, f"sqlite:///{tmp_path}/north.db", 25),
                "eastmarsh": council_values("eastmarsh", UNREACHABLE, 25),
                SOUTH: council_values(SOUTH, f"sqlite:///{tmp_path}/south.db", 25)}
    use_region(monkeypatch, write_region(tmp_path, councils))

    result = runner.invoke(app, ["init", "--all-councils"])

    assert result.exit_code == 1
    assert "council eastmarsh: failed" in result.output
    assert "1 of 3 councils' databases were not made ready: eastmarsh" in result.output
    for slug, name in ((NORTH, "north.db"), (SOUTH, "south.db")):
        assert f"council {slug}: Database ready" in result.output
        engine = db.make_engine(f"sqlite:///{tmp_path}/{name}")
        db.check_schema(engine, str(engine.url))  # at the head: raises otherwise
        engine.dispose()


def test_a_phase_on_a_council_whose_database_is_behind_is_refused_naming_the_council(two_councils) -> None:
    north, _, south_url = two_councils
    command.downgrade(db.alembic_config(south_url), "-1")
    db.engine_for.cache_clear()

    refused = runner.invoke(app, ["--council", SOUTH, "run", "chase", "--by", QA_MANAGER, "--now", "2026-12-22T08:00"])
    allowed = runner.invoke(app, ["--council", NORTH, "run", "chase", "--by", QA_MANAGER, "--now", "2026-12-22T08:00"])

    assert refused.exit_code == 1
    assert f"council {SOUTH}: the database at" in refused.output and "schema revision" in refused.output
    assert "auditcycle init" in refused.output
    assert allowed.exit_code == 0, allowed.output
    assert _phases(north) == ["chase"]


def test_the_council_parameter_chooses_the_database(two_councils, prefect_harness) -> None:
    from auditcycle.flows.chase import chase

    north, south, _ = two_councils

    chase(now="2026-12-22T08:00", by=QA_MANAGER, council=SOUTH)
    chase(now="2026-12-22T09:00", by=QA_MANAGER)  # no council: the region's default

    assert _phases(south) == ["chase"]
    assert _phases(north) == ["chase"]
    with pytest.raises(UserError, match="no council 'westfold' in the region file"):
        chase(now="2026-12-22T10:00", by=QA_MANAGER, council="westfold")


def test_each_councils_settings_are_its_own_file(two_councils, tmp_path: Path) -> None:
    with for_council(SOUTH):
        south = get_settings()
    with for_council(NORTH):
        north = get_settings()

    assert (str(north.mail_from), str(south.mail_from)) == ("qa@northshire.example", "qa@southvale.example")
    assert (north.reports_dir, south.reports_dir) == (Path("reports") / NORTH, Path("reports") / SOUTH)
    assert get_settings() is north  # the default council
    assert runner.invoke(app, ["--council", "westfold", "init"]).exit_code == 1


@pytest.mark.parametrize(("change", "said"), [
    ({"database_url": "same"}, "councils northshire and southvale share one database_url"),
    ({"web_secret_key": "s" * 40}, "councils northshire and southvale share one web_secret_key"),
    ({"drop": "base_url"}, "does not set base_url"),
])
def test_a_region_whose_councils_share_data_or_leave_out_their_own_is_refused(
        tmp_path: Path, monkeypatch, change: dict, said: str) -> None:
    north = council_values(NORTH, f"sqlite:///{tmp_path}/north.db", 25)
    south = council_values(SOUTH, f"sqlite:///{tmp_path}/south.db", 25)
    if "drop" in change:
        del south[change["drop"]]
    else:
        for key, value in change.items():
            north[key] = south[key] = value if value != "same" else north[key]
    use_region(monkeypatch, write_region(tmp_path, {NORTH: north, SOUTH: south}))

    result = runner.invoke(app, ["init"])

    assert result.exit_code == 1 and said in result.output.replace("\n", " ")
    assert "s" * 40 not in result.output  # a secret is never repeated


def test_without_a_region_a_council_is_refused_and_nothing_changes(app_env: str) -> None:
    assert get_settings().database_url == app_env
    with pytest.raises(UserError, match="this installation serves one council"):
        with for_council(NORTH):
            pass
    assert runner.invoke(app, ["--council", NORTH, "init"]).exit_code == 1


def test_deployments_give_each_council_its_own_deployments_schedules_and_work_queue(
        tmp_path: Path, monkeypatch, prefect_harness) -> None:
    from prefect.client.orchestration import get_client

    monkeypatch.chdir(tmp_path)
    south = council_values(SOUTH, f"sqlite:///{tmp_path}/south.db", 25)
    (region := write_region(tmp_path, {NORTH: council_values(NORTH, f"sqlite:///{tmp_path}/north.db", 25),
                                       SOUTH: south}))
    (tmp_path / f"{SOUTH}.toml").write_text((tmp_path / f"{SOUTH}.toml").read_text()
                                            + '[schedules]\nchase = "30 6 * * 1-5"\n')
    region.write_text(region.read_text() + "concurrency = 3\n")  # Southvale's, the last council written
    use_region(monkeypatch, region)
    config = Path(__file__).resolve().parents[2] / "prefect.yaml"

    result = runner.invoke(app, ["deployments", "--config", str(config), "--output", "region.yaml",
                                 "--create-queues"])

    assert result.exit_code == 0, result.output
    written = {d["name"]: d for d in yaml.safe_load((tmp_path / "region.yaml").read_text())["deployments"]}
    phases = [d["name"] for d in yaml.safe_load(config.read_text())["deployments"]]
    assert sorted(written) == sorted(f"{p}-{c}" for p in phases for c in (NORTH, SOUTH))
    assert written[f"chase-{SOUTH}"]["schedules"][0]["cron"] == "30 6 * * 1-5"
    assert written[f"chase-{NORTH}"]["schedules"][0]["cron"] == "0 8 * * 1-5"
    assert written[f"sample-{NORTH}"]["parameters"] == {"council": NORTH}
    assert {d["work_pool"]["work_queue_name"] for n, d in written.items() if n.endswith(SOUTH)} == {
        f"auditcycle-{SOUTH}"}
    with get_client(sync_client=True) as client:
        limits = {q.name: q.concurrency_limit for q in client.read_work_queues(work_pool_name="auditcycle")}
    assert limits[f"auditcycle-{NORTH}"] == 2 and limits[f"auditcycle-{SOUTH}"] == 3


def test_served_deployments_run_each_council_on_its_own_parameters(tmp_path: Path, monkeypatch) -> None:
    from auditcycle.runs.serving import build_deployments

    monkeypatch.chdir(tmp_path)
    use_region(monkeypatch, write_region(tmp_path, {
        NORTH: council_values(NORTH, f"sqlite:///{tmp_path}/north.db", 25),
        SOUTH: council_values(SOUTH, f"sqlite:///{tmp_path}/south.db", 25)}))

    built = build_deployments(Path(__file__).resolve().parents[2] / "prefect.yaml", ["chase", f"report-{SOUTH}"])

    assert {(d.name, d.parameters["council"]) for d in built} == {
        (f"chase-{NORTH}", NORTH), (f"chase-{SOUTH}", SOUTH), (f"report-{SOUTH}", SOUTH)}
