"""What a person sees of a run: the live line's text and redraws, the log lines' cadence and wording."""

import io

import pytest

from tf_nst.cli.options import RunOptions
from tf_nst.cli.progress import LiveLine, LogLines, display, loss_text, position_text
from tf_nst.errors import UsageError
from tf_nst.transfer import Progress

LOSSES = {"content": 0.25, "style": 1.5, "tv": 0.0125, "total": 1.7625}


def report(step: int, steps: int, scale: int = 1, scales: int = 1, size=(32, 24)) -> Progress:
    return Progress(step, steps, LOSSES, 4.0, step / 4.0, None, size, scale, scales, step, steps)


def test_position_names_only_what_there_is_more_than_one_of():
    assert position_text(report(1, 4)) == ""
    assert position_text(report(1, 4), 2, 5) == "image 2/5  "
    assert position_text(report(1, 4, 1, 2), 2, 5) == "image 2/5  scale 1/2 32x24  "
    assert loss_text(LOSSES) == "content=0.25 style=1.5 tv=0.0125 total=1.762"


def test_live_line_redraws_in_place_and_starts_again_for_each_level():
    stream = io.StringIO()
    line = LiveLine(stream)
    line.start_image(2, 3)
    for step in range(1, 5):
        line(report(step, 4, 1, 2))
    line(report(1, 2, 2, 2, (64, 48)))
    line.close()
    printed = stream.getvalue()
    assert "\n" not in printed and printed.count("\r") >= 3
    assert "image 2/3  scale 1/2 32x24  eval 1/4 |" in printed
    assert "image 2/3  scale 2/2 64x48  eval 1/2 |" in printed
    assert "s/eval ETA" in printed and "content=0.25 style=1.5" in printed
    assert printed.endswith("\r")  # closed: the line is cleared for what comes next


def test_log_lines_every_n_evaluations_and_at_the_end(caplog):
    from absl import logging

    logging.set_verbosity(logging.INFO)
    lines = LogLines(every=3)
    with caplog.at_level("INFO"):
        for step in range(1, 8):
            lines(report(step, 7))
    messages = [r.getMessage() for r in caplog.records]
    assert [m.split("  ")[0] for m in messages] == ["eval 3/7", "eval 6/7", "eval 7/7"]
    assert "content=0.25" in messages[0] and "0.250 s/eval" in messages[0] and "ETA 1s" in messages[0]


def test_an_eta_that_counts_levels_not_yet_measured_says_it_is_an_estimate(caplog):
    import dataclasses

    from absl import logging

    logging.set_verbosity(logging.INFO)
    with caplog.at_level("INFO"):
        LogLines(every=1)(dataclasses.replace(report(4, 4), work_after=8.0))  # 8 evaluations' work to come
        LogLines(every=1)(report(4, 4))
    first, last = (r.getMessage() for r in caplog.records)
    assert first.endswith("ETA ~2s") and last.endswith("ETA 0s")  # 8 x 0.25 s, then nothing is left to guess


def test_modes_and_options_are_checked():
    assert isinstance(display("bar"), LiveLine) and isinstance(display("log", 5), LogLines)
    display("none")(report(1, 1))  # shows nothing, accepts reports
    for bad in ({"log_every": 0}, {"save_every": -1}, {"progress": "fancy"}):
        with pytest.raises(UsageError):
            RunOptions(**bad)


def test_a_terminal_of_0_columns_gets_log_lines(caplog):
    import fcntl
    import os
    import pty
    import struct
    import termios

    from absl import logging

    logging.set_verbosity(logging.INFO)
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 0, 0, 0))  # rows, columns: 0
    with os.fdopen(terminal, "w") as stream, caplog.at_level("INFO"):
        line = display("bar", 2, stream)
        for step in range(1, 6):
            line(report(step, 5))
        line.close()
    os.close(controller)
    assert [r.getMessage().split("  ")[0] for r in caplog.records] == ["eval 2/5", "eval 4/5", "eval 5/5"]
