"""The CLI's progress bars (import, indexing, polling, the store's upgrade) on a terminal."""

import io
import re

from rich.console import Console

from monitor import cli

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
