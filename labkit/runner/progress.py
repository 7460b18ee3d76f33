"""What the console shows while notebooks run: which notebook, which cell of how many, the time
spent and the time its last successful run took.

On a terminal, one live line (rewritten in place) holds every running notebook; finished ones
get a line of their own above it. When the output is not a terminal (CI, a log file), plain lines:
one when a notebook starts, then at most one every `PLAIN_EVERY` seconds per notebook.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

PLAIN_EVERY = 30.0


def clock(seconds: float | None) -> str:
    """Formats seconds as `m:ss` (or `h:mm:ss`).

    Args:
        seconds: the duration; `None` for unknown.

    Returns:
        The text; `"?"` when unknown.
    """
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """The runner's console: call `started`, `cell`, `line` and `tick` as events come."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None):
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self.running: dict[str, dict] = {}
        self._shown = ""

    def started(self, name: str, estimate: float | None) -> None:
        """A notebook started.

        Args:
            name: the job's name.
            estimate: seconds its last successful run took, or `None`.
        """
        self.running[name] = {"start": time.monotonic(), "estimate": estimate, "cell": 0, "cells": 0, "said": 0.0}
        if not self.live:
            last = f" (last run {clock(estimate)})" if estimate else ""
            self._write(f"  start  {name}{last}\n")
            self.running[name]["said"] = time.monotonic()
        self.tick()

    def cell(self, name: str, number: int, count: int) -> None:
        """A code cell started.

        Args:
            name: the job's name.
            number: the cell's number among the code cells (= its `In [n]` in a straight run).
            count: how many code cells there are.
        """
        state = self.running.get(name)
        if state is None:
            return
        state["cell"], state["cells"] = number, count
        if not self.live and time.monotonic() - state["said"] >= PLAIN_EVERY:
            state["said"] = time.monotonic()
            self._write(f"  ...    {self._describe(name, state)}\n")
        self.tick()

    def finished(self, name: str) -> None:
        """A notebook ended (its line is printed with `line`).

        Args:
            name: the job's name.
        """
        self.running.pop(name, None)

    def line(self, text: str) -> None:
        """Prints a line above the live line.

        Args:
            text: the line, without its newline.
        """
        self._write(text + "\n")

    def tick(self) -> None:
        """Redraws the live line (a terminal only)."""
        if not self.live:
            return
        text = " | ".join(self._describe(n, s) for n, s in self.running.items())
        width = shutil.get_terminal_size((100, 20)).columns - 1
        text = text if len(text) <= width else text[: width - 1] + "…"
        if text != self._shown:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
            self._shown = text

    def close(self) -> None:
        """Clears the live line."""
        if self.live and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = ""

    def _describe(self, name: str, state: dict) -> str:
        cells = f"cell {state['cell']}/{state['cells']}" if state["cells"] else "starting"
        elapsed = time.monotonic() - state["start"]
        estimate = f" of ~{clock(state['estimate'])}" if state["estimate"] else ""
        return f"{name} {cells} {clock(elapsed)}{estimate}"

    def _write(self, text: str) -> None:
        if self.live and self._shown:
            self.stream.write("\r\x1b[K")
            self._shown = ""
        self.stream.write(text)
        self.stream.flush()
