"""How library code reports progress without printing: the caller passes a callback."""

from collections.abc import Callable

# Called with (done, total) as work advances; the CLI draws a bar, tests pass nothing.
Progress = Callable[[int, int], None]


def no_progress(done: int, total: int) -> None:
    return None
