"""Built-in demo images, drawn procedurally so the project needs no downloaded photo or painting.

``demo_content``: a small town by a river under an evening sky. ``demo_style``: swirling impasto brush strokes
in a night-sky palette. Both are deterministic RGB PIL images.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def demo_content(width: int = 640, height: int = 480) -> Image.Image:
    """A town by a river: sky gradient, sun, hills, houses with lit windows and their reflections."""
    return _town(width, height, mask=False)


def demo_regions(width: int = 640, height: int = 480) -> Image.Image:
    """``demo_content``'s regions as a black-and-white mask: the town, hills and river black, the sky white."""
    return _town(width, height, mask=True)


def _town(width: int, height: int, mask: bool) -> Image.Image:
    """The demo town, or (``mask``) the same drawing with the sky white and everything else black."""
    rng = np.random.default_rng(7)

    def ink(colour: tuple[int, int, int]) -> tuple[int, int, int]:
        return (0, 0, 0) if mask else colour

    sky_top, sky_bottom = np.array([70, 110, 190.0]), np.array([250, 200, 150.0])
    t = np.linspace(0, 1, height)[:, None, None]
    pixels = np.broadcast_to(sky_top * (1 - t) + sky_bottom * t, (height, width, 3)).astype(np.uint8)
    image = Image.fromarray(np.full((height, width, 3), 255, np.uint8) if mask else np.ascontiguousarray(pixels))
    draw = ImageDraw.Draw(image)
    horizon = int(height * 0.62)
    sun = (255, 255, 255) if mask else (255, 236, 170)
    draw.ellipse([width * 0.68, height * 0.12, width * 0.80, height * 0.12 + width * 0.12], fill=sun)
    hills = [
        (x, horizon - 60 - 40 * math.sin(x / width * 5.0) - 20 * math.sin(x / width * 13.0))
        for x in range(0, width + 8, 8)
    ]
    draw.polygon([(0, horizon)] + hills + [(width, horizon)], fill=ink((60, 100, 70)))
    x = 0
    while x < width:
        w, h = int(rng.integers(40, 80)), int(rng.integers(60, 130))
        wall = tuple(int(c) for c in rng.integers([150, 110, 80], [250, 220, 190]))
        draw.rectangle([x, horizon - h, x + w, horizon], fill=ink(wall), outline=ink((40, 30, 30)))
        draw.polygon(
            [(x - 4, horizon - h), (x + w // 2, horizon - h - w // 2), (x + w + 4, horizon - h)],
            fill=ink((150, 50, 40)),
        )
        for wy in range(horizon - h + 12, horizon - 14, 24):
            for wx in range(x + 8, x + w - 12, 18):
                draw.rectangle(
                    [wx, wy, wx + 8, wy + 12], fill=ink((255, 220, 120) if rng.random() < 0.5 else (50, 60, 80))
                )
        x += w + int(rng.integers(2, 10))
    for tx in rng.integers(0, width, 6):
        draw.rectangle([tx - 3, horizon - 40, tx + 3, horizon], fill=ink((70, 50, 30)))
        draw.ellipse([tx - 22, horizon - 85, tx + 22, horizon - 30], fill=ink((40, 90, 40)))
    above = np.asarray(image)[horizon - (height - horizon) : horizon][::-1].astype(np.float32)
    water = 0.6 * above + 0.4 * np.array([40, 70, 110.0])
    pixels = np.asarray(image).copy()
    pixels[horizon:] = 0 if mask else water[: height - horizon].astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    for y in range(horizon + 4, height, 7):
        draw.line([(0, y), (width, y)], fill=ink((90, 120, 160)), width=1)
    return image if mask else image.filter(ImageFilter.SMOOTH)


PALETTES = {  # name: (seed, ground, stroke colours)
    "night": (11, (25, 35, 70), ((20, 40, 110), (40, 80, 160), (70, 130, 200), (30, 110, 120), (230, 200, 60),
                                 (250, 240, 170), (15, 25, 50))),
    "ember": (13, (70, 30, 20), ((150, 40, 25), (200, 80, 30), (235, 140, 50), (120, 70, 40), (250, 210, 120),
                                 (60, 120, 110), (40, 20, 15))),
}  # fmt: skip


def demo_style(width: int = 512, height: int = 512, palette: str = "night") -> Image.Image:
    """Brush strokes that follow a field of swirls: ``night``, deep blues, teal and yellow on a dark ground;
    ``ember``, reds, oranges and ochre with a little teal on a dark red ground."""
    seed, ground, colours = PALETTES[palette]
    rng = np.random.default_rng(seed)
    palette = np.array(colours)
    image = Image.new("RGB", (width, height), ground)
    draw = ImageDraw.Draw(image)
    centres = rng.uniform(0, 1, (5, 2)) * (width, height)
    spins = rng.choice([-1.0, 1.0], 5)

    def direction(x: float, y: float) -> tuple[float, float]:
        dx, dy = 0.6, 0.15 * math.sin(y / 40.0)  # a gentle drift, swirled around each centre
        for (cx, cy), spin in zip(centres, spins):
            rx, ry = x - cx, y - cy
            falloff = math.exp(-(rx * rx + ry * ry) / (2 * (0.18 * width) ** 2))
            dx += spin * -ry / (abs(rx) + abs(ry) + 1e-3) * falloff * 3
            dy += spin * rx / (abs(rx) + abs(ry) + 1e-3) * falloff * 3
        norm = math.hypot(dx, dy) + 1e-6
        return dx / norm, dy / norm

    for _ in range(5000):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        colour = palette[rng.choice(len(palette), p=[0.2, 0.22, 0.18, 0.12, 0.12, 0.06, 0.1])]
        colour = tuple(int(c) for c in np.clip(colour + rng.normal(0, 14, 3), 0, 255))
        points = [(x, y)]
        for _ in range(int(rng.integers(4, 10))):
            dx, dy = direction(x, y)
            x, y = x + 5 * dx, y + 5 * dy
            points.append((x, y))
        draw.line(points, fill=colour, width=int(rng.integers(3, 7)), joint="curve")
    return image
