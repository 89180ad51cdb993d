"""The projector's spatial index, built on the server: the bytes of a KDBush index (the format regl-scatterplot 1.16
reads through ``scatterplot.draw(points, {spatialIndex})``) over the points the page draws, so the browser does not
spend seconds sorting a million points before its first frame.

KDBush 4's buffer (little-endian): an 8-byte header (byte 0 ``0xdb``; byte 1 ``(version 1 << 4) | array-type code``,
8 = Float64Array; uint16 node size; uint32 number of items), then the ids (Uint16 below 65,536 items, else Uint32),
zero padding to a multiple of 8 bytes, then the coordinates ``x0 y0 x1 y1 ...`` in the order of the ids. The ids and
coordinates are kd-sorted: the range ``[left, right]`` is split at ``m = (left + right) >> 1`` so that the rows
before ``m`` have a coordinate (x at even depths, y at odd ones) no larger than row ``m``'s and the rows after it
none smaller, recursively, until a range holds at most ``node size`` rows. regl-scatterplot builds its index with
node size 64 and Float64 coordinates; this module does the same.

The coordinates are the page's drawn points: the layout scaled into [-0.9, 0.9] with its aspect kept
(``normalized``, the same double-precision arithmetic as ``pointData`` in ``static/projector.js``), rounded to
float32 as the page's arrays hold them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError

NODE_SIZE = 64  # regl-scatterplot's (KDBush's default: draw passes none)
MAGIC, VERSION, FLOAT64 = 0xDB, 1, 8  # KDBush's header: magic byte, format version, Float64Array's type code
HEADER = 8


def normalized(coords: ArrayLike) -> np.ndarray:
    """The points the projector page draws for a 2-D layout: centred, scaled into [-0.9, 0.9], aspect kept.

    Parameters
    ----------
    coords : array_like
        (n, 2) float32 layout coordinates.

    Returns
    -------
    numpy.ndarray
        (n, 2) float32: ``(x - cx) * s`` and ``(y - cy) * s`` computed in float64, with ``cx``, ``cy`` the centre
        of the bounding box and ``s = 1.8 / max(width, height, 1e-12)``, exactly as the page computes them.

    Raises
    ------
    InputError
        Coordinates not of shape (n, 2), or holding NaN or infinity.
    """
    xy = np.asarray(coords, dtype=np.float32)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise InputError(f"layout coordinates must have shape (n, 2), got {xy.shape}")
    if not np.isfinite(xy).all():
        raise InputError("layout coordinates hold NaN or infinity")
    if not len(xy):
        return np.zeros((0, 2), np.float32)
    lo, hi = xy.min(axis=0).astype(np.float64), xy.max(axis=0).astype(np.float64)
    s = 1.8 / max(float(hi[0] - lo[0]), float(hi[1] - lo[1]), 1e-12)
    centre = (lo + hi) / 2
    return ((xy.astype(np.float64) - centre) * s).astype(np.float32)


def index_size(n: int) -> int:
    """Bytes of ``kdbush``'s index of ``n`` points.

    Parameters
    ----------
    n : int
        Number of points (>= 0).

    Returns
    -------
    int
        8 (header) + ids (2 bytes each below 65,536 points, else 4) + padding to 8 + 16 per point.
    """
    ids = n * (2 if n < 65_536 else 4)
    return HEADER + ids + (-ids) % 8 + 16 * n


def kdbush(points: ArrayLike, node_size: int = NODE_SIZE) -> bytes:
    """A KDBush 4 index (Float64 coordinates) of ``points``, as the bytes ``KDBush.from`` reads.

    Parameters
    ----------
    points : array_like
        (n, 2) coordinates (any float dtype; stored as float64).
    node_size : int
        Rows per leaf, 2 to 65,535 (regl-scatterplot's 64 by default).

    Returns
    -------
    bytes
        Header, ids, padding and kd-sorted coordinates (see the module's description); ``8 + n * id_bytes +
        padding + 16 n`` bytes.

    Raises
    ------
    InputError
        Points not of shape (n, 2), NaN or infinity among them, more than 2^32 - 1 points, or a node size
        outside 2..65,535.
    """
    xy = np.array(points, dtype=np.float64)  # a copy: sorted in place
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise InputError(f"points must have shape (n, 2), got {xy.shape}")
    if not np.isfinite(xy).all():
        raise InputError("points hold NaN or infinity")
    if not isinstance(node_size, int) or isinstance(node_size, bool) or not 2 <= node_size <= 65_535:
        raise InputError(f"node_size must be an integer in [2, 65535], got {node_size!r}")
    n = len(xy)
    if n >= 2**32:
        raise InputError(f"a KDBush index holds at most 2^32 - 1 points, got {n}")
    ids = np.arange(n, dtype=np.uint16 if n < 65_536 else np.uint32)
    _kd_sort(ids, xy, node_size)
    header = np.zeros(HEADER, np.uint8)
    header[0], header[1] = MAGIC, (VERSION << 4) | FLOAT64
    header[2:4] = np.frombuffer(np.uint16(node_size).astype("<u2").tobytes(), np.uint8)
    header[4:8] = np.frombuffer(np.uint32(n).astype("<u4").tobytes(), np.uint8)
    pad = (8 - ids.nbytes % 8) % 8
    return b"".join([header.tobytes(), ids.astype(ids.dtype.newbyteorder("<")).tobytes(), bytes(pad),
                     xy.astype("<f8").tobytes()])


def _kd_sort(ids: np.ndarray, xy: np.ndarray, node_size: int) -> None:
    # KDBush's sort: split [left, right] at its middle row by x (even depth) or y (odd depth), recursively; a
    # range of at most node_size rows stays as it is. argpartition gives the same invariant as KDBush's
    # Floyd-Rivest select (ties may land on either side, which its queries allow). x, y and ids are sorted as
    # three contiguous arrays (gathering rows of the (n, 2) array was most of the time), then written back.
    axes = (np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]))
    stack = [(0, len(ids) - 1, 0)]
    while stack:
        left, right, axis = stack.pop()
        if right - left <= node_size:
            continue
        m = (left + right) >> 1
        part = slice(left, right + 1)
        order = np.argpartition(axes[axis][part], m - left)
        for a in (*axes, ids):
            a[part] = a[part][order]
        stack.append((left, m - 1, 1 - axis))
        stack.append((m + 1, right, 1 - axis))
    xy[:, 0], xy[:, 1] = axes
