"""A flame graph (SVG) drawn from collapsed stacks (`frame;frame;… count`, py-spy's raw format).

Drawn here rather than by a second py-spy pass: the target is sampled once, into the collapsed
stacks that the summary's figures come from, so the picture and the figures are the same samples.
The SVG stands alone (no script): each box's tooltip names its function and share, and a browser
opens it from the bundle.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from html import escape

WIDTH = 1200
FRAME_HEIGHT = 16
MARGIN = 10
TITLE_HEIGHT = 40
MIN_WIDTH_PX = 0.3  # thinner boxes are left out: they cannot be seen, and they would bloat the file
CHAR_WIDTH_PX = 6.5  # of the 11 px monospace text; a label is cut to the box it sits in


@dataclass
class _Node:
    count: int = 0
    children: dict[str, _Node] = field(default_factory=dict)


def _tree(stacks: dict[tuple[str, ...], int]) -> _Node:
    root = _Node()
    for frames, count in stacks.items():
        root.count += count
        node = root
        for frame in frames:
            node = node.children.setdefault(frame, _Node())
            node.count += count
    return root


def _colour(frame: str, idle: bool) -> str:
    if idle:
        return "rgb(170,190,215)"  # waiting, drawn cold so that the eye goes to the work
    # A stable warm colour per function (not per line), so one function has one colour everywhere.
    name = frame.split(" (", 1)[0]
    digest = hashlib.blake2b(name.encode(), digest_size=2).digest()
    return f"rgb(230,{110 + digest[0] % 120},{40 + digest[1] % 50})"


def render_svg(stacks: dict[tuple[str, ...], int], title: str, idle_stacks: frozenset[tuple[str, ...]]) -> str:
    """The flame graph of `stacks` (frames root first, with their sample counts); the last box of
    each stack in `idle_stacks` is a wait, drawn in grey-blue."""
    root = _tree(stacks)
    depth = max((len(frames) for frames in stacks), default=0)
    height = TITLE_HEIGHT + (depth + 1) * FRAME_HEIGHT + MARGIN
    scale = (WIDTH - 2 * MARGIN) / root.count if root.count else 0.0
    boxes: list[str] = []

    def draw(node: _Node, path: tuple[str, ...], x: float, level: int) -> None:
        for frame, child in sorted(node.children.items()):
            width = child.count * scale
            if width >= MIN_WIDTH_PX:
                here = (*path, frame)
                y = height - MARGIN - (level + 1) * FRAME_HEIGHT
                share = child.count / root.count
                idle = here in idle_stacks  # the box where a waiting stack ends
                label = escape(frame)
                fits = int((width - 4) / CHAR_WIDTH_PX)
                text = escape(frame[:fits] if len(frame) <= fits else frame[: max(0, fits - 2)] + "..")
                boxes.append(
                    f"<g><title>{label} ({child.count} samples, {share:.1%})</title>"
                    f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{FRAME_HEIGHT - 1}" '
                    f'fill="{_colour(frame, idle)}" rx="2"/>'
                    + (f'<text x="{x + 3:.1f}" y="{y + 11}">{text}</text>' if fits >= 3 else "")
                    + "</g>"
                )
                draw(child, here, x, level + 1)
            x += width

    draw(root, (), float(MARGIN), 0)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="monospace" font-size="11">\n'
        f'<rect width="100%" height="100%" fill="#fdfdf8"/>\n'
        f'<text x="{WIDTH / 2}" y="24" text-anchor="middle" font-size="15">{escape(title)}</text>\n'
        + "\n".join(boxes)
        + "\n</svg>\n"
    )
