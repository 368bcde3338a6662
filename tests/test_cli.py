"""The CLI's reading commands on a store that is not there."""

import pytest
from click.testing import CliRunner

from monitor.cli import main


@pytest.mark.parametrize(
    "args",
    [
        ["search", "普京"],
        ["show", "epochtimes:n13473224"],
        ["explain", "1"],
        ["sources"],
        ["digest"],
    ],
)
def test_reading_commands_do_not_create_a_store_at_a_mistyped_path(tmp_path, args):
    path = tmp_path / "no-such-dir" / "typo.db"
    r = CliRunner().invoke(main, ["--db", str(path), *args])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit)
    assert f"no store at {path}" in r.output
    assert not path.parent.exists()


def test_health_reports_a_missing_store_without_creating_it(tmp_path):
    path = tmp_path / "typo.db"
    r = CliRunner().invoke(main, ["--db", str(path), "health"])
    assert r.exit_code == 1 and r.output == f"unhealthy: no store at {path}\n"
    assert not path.exists()
