"""The CLI's progress bars (import, indexing, polling, the store's upgrade) on a terminal."""

import io
import logging
import re

from rich.console import Console

from monitor import cli
from monitor.logs import setup_logging

TIME = r"(?:-:--:--|\d+:\d\d:\d\d)"  # rich's time columns: unknown yet, or h:mm:ss


def test_a_bar_shows_the_time_taken_and_the_time_left(monkeypatch):
    shown = io.StringIO()
    console = Console(file=shown, force_terminal=True, color_system=None, width=100)
    monkeypatch.setattr(cli, "err", console)
    with cli.progress_bar(4, "importing") as advance:
        for _ in range(4):
            advance()
    frames = shown.getvalue().replace("\r", "\n").splitlines()
    assert any(re.search(rf"importing .* 4/4 {TIME} {TIME}$", f.strip()) for f in frames), frames


def test_a_log_line_while_a_bar_shows_is_printed_above_it(monkeypatch):
    """The upgrade's last lines are logged while its bar still shows: on a line of their
    own, not glued to the bar's."""
    shown = io.StringIO()
    console = Console(file=shown, force_terminal=True, color_system=None, width=100)
    monkeypatch.setattr(cli, "err", console)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    setup_logging()
    with cli.progress_bar(4, "upgrading the search index") as advance:
        advance()
        logging.getLogger("monitor.store").info("search index upgraded: 4 stories")
    lines = shown.getvalue().replace("\r", "\n").splitlines()
    logged = [x for x in lines if "search index upgraded" in x]
    assert len(logged) == 1 and logged[0].endswith(
        "INFO monitor.store search index upgraded: 4 stories"
    ), lines
    assert "upgrading the search index" not in logged[0]
