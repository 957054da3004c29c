"""The loss curve as a PNG, drawn without a plotting library (stdlib zlib only).

Train loss is a blue line, eval loss an orange line with a dot at each eval; the axes carry the
first and last step and the lowest and highest loss. Small enough to read top to bottom, and it
keeps matplotlib out of the training dependencies.
"""

from __future__ import annotations

import itertools
import math
import struct
import zlib
from pathlib import Path
from typing import Any

WIDTH, HEIGHT = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 40, 45
WHITE, BLACK, GREY = (255, 255, 255), (40, 40, 40), (225, 225, 225)
BLUE, ORANGE = (31, 119, 180), (255, 127, 14)

# 3x5 glyphs, one string of 15 bits per character, row by row.
_FONT = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001010010010",
    "8": "111101111101111", "9": "111101111001111", ".": "000000000000010", "-": "000000111000000",
    "e": "111101111100111", "a": "111001111101111", "i": "010000010010010", "l": "110010010010111",
    "n": "000110101101101", "o": "000111101101111", "p": "111101111100100", "r": "000111100100100",
    "s": "111100111001111", "t": "010111010010011", "v": "000101101101010", " ": "000000000000000",
    "+": "000010111010000",
}


class Canvas:
    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.pixels = bytearray(WHITE * (width * height))

    def dot(self, x: int, y: int, color: tuple[int, int, int]) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            i = 3 * (y * self.width + x)
            self.pixels[i:i + 3] = bytes(color)

    def line(self, x0: int, y0: int, x1: int, y1: int, color: tuple[int, int, int], thick: int = 1) -> None:
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for s in range(steps + 1):
            x, y = round(x0 + (x1 - x0) * s / steps), round(y0 + (y1 - y0) * s / steps)
            for dx in range(thick):
                for dy in range(thick):
                    self.dot(x + dx, y + dy, color)

    def box(self, x: int, y: int, size: int, color: tuple[int, int, int]) -> None:
        for dx in range(-size, size + 1):
            for dy in range(-size, size + 1):
                self.dot(x + dx, y + dy, color)

    def text(self, x: int, y: int, text: str, color: tuple[int, int, int] = BLACK, scale: int = 2) -> None:
        for n, char in enumerate(text.lower()):
            glyph = _FONT.get(char, _FONT[" "])
            for bit, on in enumerate(glyph):
                if on == "1":
                    gx, gy = x + n * 4 * scale + (bit % 3) * scale, y + (bit // 3) * scale
                    for dx in range(scale):
                        for dy in range(scale):
                            self.dot(gx + dx, gy + dy, color)

    def png(self) -> bytes:
        rows = b"".join(b"\0" + bytes(self.pixels[3 * y * self.width:3 * (y + 1) * self.width])
                        for y in range(self.height))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + \
            chunk(b"IEND", b"")


def _label(value: float) -> str:
    return f"{value:.3g}".replace("e+0", "e").replace("e-0", "e-")


def loss_curve_png(metrics: list[dict[str, Any]], path: Path) -> Path:
    """Draw train and eval loss against step from metrics.jsonl records; returns `path`."""
    train = [(m["step"], m["loss"]) for m in metrics if "loss" in m and math.isfinite(m["loss"])]
    evals = [(m["step"], m["eval_loss"]) for m in metrics if "eval_loss" in m and math.isfinite(m["eval_loss"])]
    canvas = Canvas(WIDTH, HEIGHT)
    x_lo, x_hi, y_lo, y_hi = LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM, TOP
    points = train + evals
    if points:
        s_min, s_max = min(p[0] for p in points), max(p[0] for p in points)
        l_min, l_max = min(p[1] for p in points), max(p[1] for p in points)
    else:
        s_min, s_max, l_min, l_max = 0, 1, 0.0, 1.0
    s_span, l_span = max(s_max - s_min, 1), max(l_max - l_min, 1e-9)

    def xy(step: float, loss: float) -> tuple[int, int]:
        return (round(x_lo + (step - s_min) / s_span * (x_hi - x_lo)),
                round(y_lo - (loss - l_min) / l_span * (y_lo - y_hi)))

    for i in range(5):  # grid
        y = round(y_hi + i * (y_lo - y_hi) / 4)
        canvas.line(x_lo, y, x_hi, y, GREY)
    canvas.line(x_lo, y_lo, x_hi, y_lo, BLACK)
    canvas.line(x_lo, y_hi, x_lo, y_lo, BLACK)
    for series, color in ((train, BLUE), (evals, ORANGE)):
        for (a, b) in itertools.pairwise(series):
            canvas.line(*xy(*a), *xy(*b), color, thick=2)
        if color == ORANGE or len(series) == 1:
            for point in series:
                canvas.box(*xy(*point), 3, color)
    canvas.text(4, y_hi - 4, _label(l_max))
    canvas.text(4, y_lo - 8, _label(l_min))
    canvas.text(x_lo, y_lo + 10, str(s_min))
    canvas.text(x_hi - 4 * 2 * len(str(s_max)), y_lo + 10, str(s_max))
    canvas.text(WIDTH // 2 - 16, y_lo + 24, "step")
    canvas.box(x_lo + 10, 18, 5, BLUE)
    canvas.text(x_lo + 22, 13, "train loss", BLUE)
    canvas.box(x_lo + 150, 18, 5, ORANGE)
    canvas.text(x_lo + 162, 13, "eval loss", ORANGE)
    path.write_bytes(canvas.png())
    return path
