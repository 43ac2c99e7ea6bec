#!/usr/bin/env python3
"""Saves every figure of gradus lab pages as a standalone SVG file, for docs/lab.md.

    scripts/lab_figures.py LAB_DIR OUT_DIR      e.g. scripts/lab_figures.py lab docs/lab

Each page draws its figures as inline SVG styled by the page's own style sheet; a file
gets that style sheet inside it, so that it looks as it does on the page. Files are named
EXPERIMENT-FIGURE.svg after the page and the figure's id. Standard library only.
"""
import glob
import html
import os
import re
import sys


def figures(page):
    text = open(page, encoding="utf-8").read()
    style = re.search(r"<style>(.*?)</style>", text, re.S).group(1)
    for m in re.finditer(r'<figure class="chart" id="fig-([^"]+)"><figcaption>(.*?)</figcaption>\s*'
                         r"(<svg .*?</svg>)", text, re.S):
        yield m.group(1), html.unescape(m.group(2)), m.group(3), style


def main(lab_dir, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    count = 0
    for page in sorted(glob.glob(os.path.join(lab_dir, "*.html"))):
        name = os.path.splitext(os.path.basename(page))[0]
        if name == "notebook":
            continue
        for fig, title, svg, style in figures(page):
            svg = svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
            head = "<title>%s</title><style>%s</style>" % (html.escape(title), style)
            svg = re.sub(r"(<svg [^>]*>)", lambda m: m.group(1) + head, svg, count=1)
            path = os.path.join(out_dir, "%s-%s.svg" % (name, fig))
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                f.write(svg + "\n")
            os.replace(path + ".tmp", path)
            count += 1
    print("%d figures into %s" % (count, out_dir))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
