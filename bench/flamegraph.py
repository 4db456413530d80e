"""Turns `perf script` output (samples with call stacks, from `perf record -g`) into a static
flame graph: an SVG where each box is a function, its width the share of samples in which it
was on the stack, its callers below it. Hovering a box shows its name and share (SVG titles,
no script). Standard library only.

    perf script --no-inline -i perf.data | python3 bench/flamegraph.py "title" > flame.svg
"""

import hashlib
import html
import re
import sys
from collections import defaultdict

WIDTH = 1200
ROW = 16
FONT = 11
MIN_WIDTH = 0.5  # boxes narrower than this (in pixels) are left out
HASH = re.compile(r"::h[0-9a-f]{16}$")


def frames(block):
    """The stack of one sample, outermost first."""
    names = []
    for line in block[1:]:
        parts = line.strip().split(None, 1)
        if len(parts) < 2:
            continue
        name = parts[1]
        name = name.rsplit(" (", 1)[0]  # the "(dso)" suffix
        name = re.sub(r"\+0x[0-9a-f]+$", "", name)
        name = HASH.sub("", name)
        if name == "[unknown]":
            continue
        names.append(name)
    names.reverse()
    return names


def fold(lines):
    counts = defaultdict(int)
    block = []
    for line in lines + [""]:
        if line.strip():
            block.append(line.rstrip("\n"))
            continue
        if block:
            stack = frames(block)
            if stack:
                counts[tuple(stack)] += 1
            block = []
    return counts


def tree(counts):
    root = {"name": "all", "count": 0, "children": {}}
    for stack, n in counts.items():
        root["count"] += n
        node = root
        for name in stack:
            node = node["children"].setdefault(name, {"name": name, "count": 0, "children": {}})
            node["count"] += n
    return root


def depth(node):
    return 1 + max((depth(c) for c in node["children"].values()), default=0)


def colour(name):
    digest = hashlib.md5(name.encode()).digest()
    return f"rgb({205 + digest[0] % 50},{80 + digest[1] % 120},{30 + digest[2] % 40})"


def render(root, title):
    rows = depth(root)
    height = (rows + 2) * ROW
    scale = WIDTH / max(root["count"], 1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="monospace" font-size="{FONT}">',
        f'<text x="4" y="{ROW - 3}">{html.escape(title)} ({root["count"]} samples)</text>',
    ]

    def draw(node, x, level):
        width = node["count"] * scale
        if width < MIN_WIDTH:
            return
        y = height - (level + 1) * ROW
        share = 100 * node["count"] / max(root["count"], 1)
        label = html.escape(node["name"])
        out.append(
            f'<g><title>{label} ({node["count"]} samples, {share:.1f}%)</title>'
            f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{ROW - 1}" '
            f'fill="{colour(node["name"])}"/>'
        )
        chars = int(width / (FONT * 0.6)) - 1
        if chars >= 3:
            text = node["name"] if len(node["name"]) <= chars else node["name"][: chars - 2] + ".."
            out.append(f'<text x="{x + 2:.1f}" y="{y + ROW - 4}">{html.escape(text)}</text>')
        out.append("</g>")
        child_x = x
        for child in sorted(node["children"].values(), key=lambda c: c["name"]):
            draw(child, child_x, level + 1)
            child_x += child["count"] * scale

    draw(root, 0.0, 0)
    out.append("</svg>")
    return "\n".join(out)


def main():
    title = sys.argv[1] if len(sys.argv) > 1 else "flame graph"
    root = tree(fold(sys.stdin.readlines()))
    sys.stdout.write(render(root, title) + "\n")


if __name__ == "__main__":
    main()
