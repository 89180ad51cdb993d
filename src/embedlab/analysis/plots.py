"""Scatter plots of projected vectors: PNG (matplotlib, Korean-capable font) and interactive HTML (plotly).

Labels in Korean need a font with Hangul glyphs; we look for Debian's `fonts-nanum` or `fonts-noto-cjk` and
warn (instead of drawing empty boxes silently) when none is installed.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError, MissingDependencyError
from ..metrics import as_matrix

_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_CJK_FONTS = ("NanumGothic", "Noto Sans CJK KR", "Noto Sans CJK JP", "NanumBarunGothic", "Noto Sans KR")


def cjk_font() -> str | None:
    """The family name of an installed font that has Hangul glyphs, or None.

    matplotlib caches its font list, so a font installed after the cache was built is found by scanning the
    system font folders and registering Nanum / Noto CJK files directly.
    """
    from matplotlib import font_manager

    def installed() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((family for family in _CJK_FONTS if family in names), None)

    found = installed()
    if found is None:
        for path in font_manager.findSystemFonts():
            if re.search(r"Nanum|NotoSansCJK|NotoSansKR", Path(path).name):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError):  # unreadable font file: keep looking
                    continue
        found = installed()
    return found


def _check(coords: ArrayLike, labels: Sequence[object] | None, groups: Sequence[object] | None
           ) -> tuple[np.ndarray, list[str], list[str] | None]:
    c = as_matrix(coords, name="coordinates")
    if c.shape[1] not in (2, 3):
        raise InputError(f"coordinates must be (n, 2) or (n, 3), got {c.shape}")
    names = [str(x) for x in (labels if labels is not None else range(len(c)))]
    if len(names) != len(c) or (groups is not None and len(groups) != len(c)):
        raise InputError("labels/colour groups must have one entry per point")
    return c, names, None if groups is None else [str(g) for g in groups]


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend; a clear error naming the extra when it is missing.

    The module is returned as ``Any``: callers use it as ``plt`` (figures and axes are matplotlib's objects)."""
    try:
        import matplotlib
    except ImportError as exc:
        raise MissingDependencyError("PNG plots need matplotlib: pip install 'embedlab[eval]'") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def scatter_png(coords: ArrayLike, labels: Sequence[object] | None, out: str | Path,
                groups: Sequence[object] | None = None, title: str = "", annotate: bool | None = None) -> Path:
    """2-D scatter saved as PNG; points coloured by ``groups``, annotated with ``labels`` (up to 300 points)."""
    plt = pyplot()

    c, names, colour = _check(coords, labels, groups)
    if c.shape[1] != 2:
        raise InputError("PNG plots are 2-D; use HTML output for 3-D")
    needs_cjk = any(_HANGUL.search(s) for s in names + (colour or []) + [title])
    font = cjk_font() if needs_cjk else None
    if needs_cjk and font is None:
        warnings.warn("no Korean font found (apt-get install fonts-nanum): Hangul labels will show as boxes",
                      stacklevel=2)
    with plt.rc_context({"font.family": [font, "DejaVu Sans"]} if font else {}):
        fig, ax = plt.subplots(figsize=(7, 6))
        keys: list[str | None] = list(dict.fromkeys(colour)) if colour else [None]
        cmap = plt.get_cmap("tab10" if len(keys) <= 10 else "tab20")
        for n, key in enumerate(keys):
            idx = [i for i in range(len(c)) if colour is None or colour[i] == key]
            ax.scatter(c[idx, 0], c[idx, 1], s=28, color=cmap(n % cmap.N), label=key, alpha=0.85)
        if annotate if annotate is not None else len(c) <= 300:
            for (x, y), text in zip(c, names, strict=True):
                ax.annotate(text, (x, y), fontsize=8, xytext=(3, 3), textcoords="offset points")
        if colour:
            ax.legend(loc="best", fontsize=8)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.tight_layout()
        out = Path(out)
        fig.savefig(out, dpi=100)
        plt.close(fig)
    return out


def scatter_html(coords: ArrayLike, labels: Sequence[object] | None, out: str | Path,
                 groups: Sequence[object] | None = None, title: str = "", hover: Sequence[str] | None = None) -> Path:
    """Interactive 2-D/3-D scatter as a self-contained HTML file (plotly.js embedded: works offline)."""
    try:
        import plotly.graph_objects as go
    except ImportError as exc:
        raise MissingDependencyError("HTML plots need plotly: pip install 'embedlab[eval]'") from exc

    c, names, colour = _check(coords, labels, groups)
    keys: list[str | None] = list(dict.fromkeys(colour)) if colour else [None]
    fig = go.Figure()
    for key in keys:
        idx = [i for i in range(len(c)) if colour is None or colour[i] == key]
        text = [names[i] for i in idx]
        extra = [hover[i] for i in idx] if hover is not None else text
        common = dict(mode="markers+text" if len(c) <= 200 else "markers", text=text, hovertext=extra,
                      hoverinfo="text", name=key or "points", textposition="top center")
        if c.shape[1] == 2:
            fig.add_trace(go.Scatter(x=c[idx, 0], y=c[idx, 1], **common))
        else:
            fig.add_trace(go.Scatter3d(x=c[idx, 0], y=c[idx, 1], z=c[idx, 2], **common))
    fig.update_layout(title=title, template="plotly_white")
    out = Path(out)
    fig.write_html(out, include_plotlyjs=True, full_html=True)
    return out


def plot_format(out: str | Path, dim: int | None = None) -> str:
    """"png" or "html" by the extension of ``out``; InputError for another one, or for a PNG of ``dim`` 3
    (checkable before any projection is computed)."""
    suffix = Path(out).suffix.lower()
    if suffix not in (".png", ".html", ".htm"):
        raise InputError(f"unknown plot format {suffix!r}: use .png or .html")
    if suffix == ".png" and dim is not None and dim != 2:
        raise InputError("PNG plots are 2-D; use HTML output for 3-D")
    return "png" if suffix == ".png" else "html"


def save_scatter(coords: ArrayLike, labels: Sequence[object] | None, out: str | Path,
                 groups: Sequence[object] | None = None, title: str = "") -> Path:
    """PNG or HTML by the file extension of ``out``."""
    if plot_format(out) == "png":
        return scatter_png(coords, labels, out, groups, title)
    return scatter_html(coords, labels, out, groups, title)
