"""The working group's guide (`docs/руководство.md`) as a page of the web application.

The pages' problem tables link to its sections (`/guide/#<anchor>`), so the page gives each
heading the anchor GitHub gives it (`guide.slug`), the same one the console prints. The
Markdown is rendered by markdown-it-py (CommonMark with tables, raw HTML off), once per change
of the file. Its pictures (`docs/img/*.png`) are served beside it.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

from planner.web import app_services as svc

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDE = DOCS / Path(svc.guide.GUIDE_FILE).name
IMAGES = DOCS / "img"
IMAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*\.png$")
BASE = "/guide/"


@dataclass(frozen=True)
class Rendered:
    title: str
    html: str


_md = MarkdownIt("commonmark", {"html": False}).enable("table")
_lock = threading.Lock()
_cache: dict[str, tuple[float, Rendered]] = {}


def render_guide(path: Path = GUIDE) -> Rendered | None:
    """The guide as HTML with an id on every heading; None when the file is not there."""
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    with _lock:
        hit = _cache.get(str(path))
        if hit and hit[0] == mtime:
            return hit[1]
    text = path.read_text(encoding="utf-8")
    tokens = _md.parse(text)
    title = ""
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            heading = tokens[i + 1].content
            tok.attrSet("id", svc.guide.slug(heading))
            if tok.tag == "h1" and not title:
                title = heading
    html = _md.renderer.render(tokens, _md.options, {})
    # Wide tables scroll in their own box on a phone, like the other pages' tables.
    html = html.replace("<table>", '<div class="scroll"><table class="list">').replace("</table>", "</table></div>")
    rendered = Rendered(title or "Руководство", html)
    with _lock:
        _cache[str(path)] = (mtime, rendered)
    return rendered


def image_path(name: str) -> Path | None:
    """A picture of the guide by its plain name (never a path a person could steer)."""
    if not IMAGE_NAME.match(name):
        return None
    path = IMAGES / name
    return path if path.is_file() else None


def links(problems: list[dict]) -> list[dict[str, str]]:
    """The guide's sections for a problem table's rows (file, row, column, value, message), each
    once: [{"title", "href"}]."""
    found = svc.guide.sections_for(
        svc.Problem(str(p.get("file") or ""), str(p.get("message") or ""), p.get("row"), p.get("column"),
                    p.get("value"), p.get("severity") or "error")
        for p in problems)
    return [{"title": s.title, "href": f"{BASE}#{s.anchor}"} for s in found]


def link(section: svc.guide.Section) -> dict[str, str]:
    return {"title": section.title, "href": f"{BASE}#{section.anchor}"}
