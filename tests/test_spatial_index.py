"""The projector's server-built spatial index (server/spatial_index.py): KDBush 4's byte layout, the kd-sort
invariant, range queries through it (KDBush's own algorithm, transcribed) equal to a brute-force selection, the
page's normalisation, and every bad input. The browser's use of it is in tests/test_projector_browser.py."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab.errors import InputError
from embedlab.server.spatial_index import index_size, kdbush, normalized


def _read(data: bytes):
    """KDBush.from: header fields, ids and coordinates."""
    magic, vt = data[0], data[1]
    node = int(np.frombuffer(data[2:4], "<u2")[0])
    n = int(np.frombuffer(data[4:8], "<u4")[0])
    id_type = np.dtype("<u2") if n < 65_536 else np.dtype("<u4")
    ids = np.frombuffer(data, id_type, n, 8)
    start = 8 + n * id_type.itemsize
    start += (-start) % 8
    coords = np.frombuffer(data, "<f8", 2 * n, start).reshape(n, 2)
    return magic, vt, node, n, ids, coords


def _range(data: bytes, x0: float, y0: float, x1: float, y1: float) -> list[int]:
    """KDBush.range as the vendored bundle runs it (a stack of [left, right, axis])."""
    _, _, node, _, ids, coords = _read(data)
    stack, out = [0, len(ids) - 1, 0], []
    while stack:
        axis, right, left = stack.pop(), stack.pop(), stack.pop()
        if right - left <= node:
            for i in range(left, right + 1):
                x, y = coords[i]
                if x0 <= x <= x1 and y0 <= y <= y1:
                    out.append(int(ids[i]))
            continue
        m = (left + right) >> 1
        x, y = coords[m]
        if x0 <= x <= x1 and y0 <= y <= y1:
            out.append(int(ids[m]))
        if (x0 <= x) if axis == 0 else (y0 <= y):
            stack += [left, m - 1, 1 - axis]
        if (x1 >= x) if axis == 0 else (y1 >= y):
            stack += [m + 1, right, 1 - axis]
    return sorted(out)


def _kd_sorted(ids, coords, node, left, right, axis) -> bool:
    if right - left <= node:
        return True
    m = (left + right) >> 1
    c = coords[:, axis]
    return bool((c[left:m] <= c[m]).all() and (c[m + 1:right + 1] >= c[m]).all()
                and _kd_sorted(ids, coords, node, left, m - 1, 1 - axis)
                and _kd_sorted(ids, coords, node, m + 1, right, 1 - axis))


def test_header_ids_and_coordinates_follow_kdbush_4():
    pts = np.array([[0.5, 0.1], [-0.2, 0.3], [0.0, -0.9], [0.9, 0.9]], np.float32)
    data = kdbush(pts)
    magic, vt, node, n, ids, coords = _read(data)
    assert (magic, vt, node, n) == (0xDB, 0x18, 64, 4) and len(data) == index_size(4) == 8 + 8 + 64
    assert data[:8] == bytes([0xDB, 0x18, 64, 0, 4, 0, 0, 0])
    assert ids.tolist() == [0, 1, 2, 3]  # one leaf: left as given
    three = kdbush(pts[:3])  # 6 bytes of ids, 2 of padding, coordinates from byte 16
    assert len(three) == index_size(3) == 16 + 48 and three[14:16] == bytes(2)
    assert np.frombuffer(three, "<f8", 6, 16).tolist() == pts[:3].astype(np.float64).ravel().tolist()
    np.testing.assert_array_equal(coords, pts.astype(np.float64))
    assert kdbush(np.zeros((0, 2))) == bytes([0xDB, 0x18, 64, 0, 0, 0, 0, 0])


@pytest.mark.parametrize("n,node,id_bytes", [(5_000, 64, 2), (70_001, 64, 4), (1_001, 2, 2)])
def test_the_sort_is_a_kd_tree_and_range_queries_equal_brute_force(n, node, id_bytes):
    rng = np.random.default_rng(n)
    pts = rng.normal(size=(n, 2)).astype(np.float32)
    pts[: n // 10] = np.round(pts[: n // 10], 1)  # ties on both axes
    data = kdbush(pts, node_size=node)
    _, _, got_node, got_n, ids, coords = _read(data)
    assert (got_node, got_n, len(data), ids.dtype.itemsize) == (node, n, index_size(n), id_bytes)
    assert sorted(ids.tolist()) == list(range(n))
    np.testing.assert_array_equal(coords, pts[ids].astype(np.float64))
    assert _kd_sorted(ids, coords, node, 0, n - 1, 0)
    p64 = pts.astype(np.float64)  # as stored (compared with float32, a Python bound would be rounded to float32)
    for x0, y0, x1, y1 in [(-0.5, -0.3, 0.7, 0.2), (0.0, 0.0, 0.0, 0.5), (-9, -9, 9, 9), (3, 3, 4, 4)]:
        want = np.flatnonzero((p64[:, 0] >= x0) & (p64[:, 0] <= x1) & (p64[:, 1] >= y0) & (p64[:, 1] <= y1))
        assert _range(data, x0, y0, x1, y1) == want.tolist()


def test_normalized_points_are_the_pages():
    xy = np.array([[1.0, 2.0], [3.0, 2.5], [2.0, 4.0]], np.float32)
    got = normalized(xy)
    s = 1.8 / 2.0  # the wider side is y: 2.0
    want = np.array([[(1 - 2) * s, (2 - 3) * s], [(3 - 2) * s, (2.5 - 3) * s], [0.0, (4 - 3) * s]])
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want.astype(np.float32))
    assert normalized(np.array([[5, 5], [5, 5]], np.float32)).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert normalized(np.zeros((0, 2), np.float32)).shape == (0, 2)


@pytest.mark.parametrize("call,match", [
    (lambda: kdbush(np.zeros((3, 3))), r"points must have shape \(n, 2\), got \(3, 3\)"),
    (lambda: kdbush(np.array([[0.0, np.nan]])), "points hold NaN or infinity"),
    (lambda: kdbush(np.zeros((3, 2)), node_size=1), r"node_size must be an integer in \[2, 65535\], got 1"),
    (lambda: kdbush(np.zeros((3, 2)), node_size=70_000), r"node_size must be an integer in \[2, 65535\], got 70000"),
    (lambda: normalized(np.zeros(4)), r"layout coordinates must have shape \(n, 2\), got \(4,\)"),
    (lambda: normalized(np.array([[np.inf, 0.0]])), "layout coordinates hold NaN or infinity"),
])
def test_bad_inputs(call, match):
    with pytest.raises(InputError, match=match):
        call()
