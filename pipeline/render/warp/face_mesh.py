"""The face as a triangle mesh: topology, named contours, smooth weights and a crop rasteriser.

The talking face is drawn by moving the vertices of a mesh laid over the portrait's face and
resampling the photo through it, so skin slides with the bones under it instead of being
painted. The mesh is mediapipe's 478-point face mesh (its tessellation leaves the mouth and the
eyes open, which is what lets the lips part); portraits analysed without one get a coarser mesh
triangulated on the 68 pose face points, with the same named contours so everything downstream
is one code path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.linalg import splu

# mediapipe face-mesh contours, person's right (image left) to left unless noted
_MP_OUTER_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
_MP_OUTER_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
_MP_INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
_MP_INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
_MP_EYES = (((33, 246, 161, 160, 159, 158, 157, 173, 133), (33, 7, 163, 144, 145, 153, 154, 155, 133)),
            ((362, 398, 384, 385, 386, 387, 388, 466, 263), (362, 382, 381, 380, 374, 373, 390, 249, 263)))
_MP_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
            148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
_MP_JAWLINE = (172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397)
_MP_NAMED = dict(chin=152, hinges=(234, 454), nose_base=2, brows=(105, 334), eye_corners=(33, 263))

# the same contours on the 68 iBUG points
_IB_OUTER_UPPER = (48, 49, 50, 51, 52, 53, 54)
_IB_OUTER_LOWER = (48, 59, 58, 57, 56, 55, 54)
_IB_INNER_UPPER = (60, 61, 62, 63, 64)
_IB_INNER_LOWER = (60, 67, 66, 65, 64)
_IB_EYES = (((36, 37, 38, 39), (36, 41, 40, 39)), ((42, 43, 44, 45), (42, 47, 46, 45)))
_IB_OVAL = tuple(range(17)) + (26, 25, 24, 23, 22, 21, 20, 19, 18, 17)
_IB_JAWLINE = tuple(range(4, 13))
_IB_NAMED = dict(chin=8, hinges=(1, 15), nose_base=33, brows=(19, 24), eye_corners=(36, 45))


@dataclass
class FaceTopology:
    """A face mesh in the portrait's rest frame, with the contours the animation moves.

    rest: (N, 2) px; depth: (N,) px, smaller = nearer the camera; triangles: (T, 3). Contours
    are vertex index arrays ordered across the face; the lip contours start and end on the
    mouth corners, the eyelid margins on the eye corners.
    """

    kind: str
    rest: np.ndarray
    depth: np.ndarray
    triangles: np.ndarray
    outer_upper: np.ndarray
    outer_lower: np.ndarray
    inner_upper: np.ndarray
    inner_lower: np.ndarray
    eyes: tuple[tuple[np.ndarray, np.ndarray], ...]
    oval: np.ndarray
    jawline: np.ndarray
    chin: int
    hinges: tuple[int, int]
    nose_base: int
    brows: tuple[int, int]
    eye_corners: tuple[int, int]

    @property
    def num_vertices(self) -> int:
        return len(self.rest)


@lru_cache(maxsize=1)
def _mediapipe_triangles() -> np.ndarray:
    """mediapipe's face tessellation as triangles (its edges' 3-cliques; mouth and eyes stay open)."""
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

    adj: dict[int, set[int]] = {}
    for a, b in FACEMESH_TESSELATION:
        adj.setdefault(a, set()).add(b)
        adj.setdefault(b, set()).add(a)
    tris = {tuple(sorted((a, b, c))) for a, b in FACEMESH_TESSELATION for c in adj[a] & adj[b]}
    return np.array(sorted(tris), np.int32)


def _arr(t: tuple[int, ...]) -> np.ndarray:
    return np.asarray(t, np.int64)


def mediapipe_topology(mesh: np.ndarray, depth: np.ndarray | None) -> FaceTopology:
    """The topology on mediapipe's (478 or 468, 2) face-mesh points (iris points are not meshed)."""
    pts = np.asarray(mesh, np.float64)[:468, :2]
    z = _guess_depth(pts, _MP_NAMED) if depth is None else np.asarray(depth, np.float64)[:468]
    return FaceTopology("mediapipe", pts, z, _mediapipe_triangles(), _arr(_MP_OUTER_UPPER), _arr(_MP_OUTER_LOWER),
                        _arr(_MP_INNER_UPPER), _arr(_MP_INNER_LOWER),
                        tuple((_arr(u), _arr(lo)) for u, lo in _MP_EYES), _arr(_MP_OVAL), _arr(_MP_JAWLINE),
                        **_MP_NAMED)


def ibug68_topology(points: np.ndarray) -> FaceTopology:
    """A coarser topology on the 68 iBUG face points, for portraits without a face mesh.

    Delaunay triangles, less those spanning the mouth slit (touching both lips) and the eyes.
    """
    from scipy.spatial import Delaunay

    pts = np.asarray(points, np.float64)[:68]
    # a few extra points on the cheeks and the lower face help the triangles follow the skin
    extra = np.array([(pts[3] + pts[48]) / 2, (pts[13] + pts[54]) / 2, (pts[8] + pts[57]) / 2,
                      (pts[6] + pts[58]) / 2, (pts[10] + pts[56]) / 2, (pts[2] + pts[31]) / 2,
                      (pts[14] + pts[35]) / 2])
    allp = np.concatenate([pts, extra])
    tri = Delaunay(allp).simplices
    upper = set(_IB_OUTER_UPPER[1:-1]) | set(_IB_INNER_UPPER[1:-1])
    lower = set(_IB_OUTER_LOWER[1:-1]) | set(_IB_INNER_LOWER[1:-1])
    inner = set(_IB_INNER_UPPER) | set(_IB_INNER_LOWER)
    eyes = [set(u) | set(lo) for u, lo in _IB_EYES]
    oval_hull = set(range(27))
    keep = []
    for t in tri:
        s = set(int(v) for v in t)
        if (s & upper and s & lower) or s <= inner or any(s <= e for e in eyes) or s <= oval_hull:
            continue
        keep.append(t)
    return FaceTopology("ibug68", allp, _guess_depth(allp, _IB_NAMED), np.asarray(keep, np.int32),
                        _arr(_IB_OUTER_UPPER), _arr(_IB_OUTER_LOWER), _arr(_IB_INNER_UPPER), _arr(_IB_INNER_LOWER),
                        tuple((_arr(u), _arr(lo)) for u, lo in _IB_EYES), _arr(_IB_OVAL), _arr(_IB_JAWLINE),
                        **_IB_NAMED)


def _guess_depth(pts: np.ndarray, named: dict) -> np.ndarray:
    """Depth from a head-shaped ellipsoid when the mesh carries none (nearer at the middle)."""
    left, right = pts[named["hinges"][0]], pts[named["hinges"][1]]
    centre = (left + right) / 2
    half = max(float(np.hypot(*(right - left))) / 2, 1e-6)
    r = np.clip(np.hypot(*(pts - centre).T) / (1.15 * half), 0, 1)
    return -0.9 * half * np.sqrt(1 - r ** 2)


def topology_for(face_mesh: np.ndarray | None, face_depth: np.ndarray | None,
                 face68: np.ndarray | None) -> FaceTopology | None:
    """The best topology the portrait allows: its face mesh, else its 68 points, else None."""
    if face_mesh is not None and len(face_mesh) >= 468 and np.isfinite(face_mesh).all():
        return mediapipe_topology(face_mesh, face_depth)
    if face68 is not None and len(face68) >= 68 and np.isfinite(face68).all():
        return ibug68_topology(face68)
    return None


# ----------------------------------------------------------------------------------------------
# smooth weights


def harmonic_weights(num_vertices: int, triangles: np.ndarray, fixed: np.ndarray,
                     values: np.ndarray) -> np.ndarray:
    """(N, K) harmonic interpolation over the mesh of ``values`` (len(fixed), K) given at ``fixed``.

    The free vertices get the average of their neighbours (uniform graph Laplacian), so a
    displacement given on a few contours spreads smoothly over the skin between them and fades
    out towards the vertices held at zero. Vertices with no path to a fixed one get zero.
    """
    fixed = np.asarray(fixed, np.int64)
    values = np.asarray(values, np.float64).reshape(len(fixed), -1)
    e = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    e = np.unique(np.sort(e, axis=1), axis=0)
    n = num_vertices
    rows = np.concatenate([e[:, 0], e[:, 1]])
    cols = np.concatenate([e[:, 1], e[:, 0]])
    adj = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)).tocsr()
    deg = np.asarray(adj.sum(1)).ravel()
    lap = (coo_matrix((deg, (np.arange(n), np.arange(n))), shape=(n, n)) - adj).tocsc()
    is_fixed = np.zeros(n, bool)
    is_fixed[fixed] = True
    free = np.nonzero(~is_fixed & (deg > 0))[0]
    out = np.zeros((n, values.shape[1]))
    out[fixed] = values
    if len(free):
        a = lap[free][:, free].tocsc()
        b = -(lap[free][:, fixed] @ values)
        a = a + 1e-9 * coo_matrix((np.ones(len(free)), (np.arange(len(free)), np.arange(len(free))))).tocsc()
        out[free] = splu(a).solve(np.asarray(b))
    return out


# ----------------------------------------------------------------------------------------------
# rasterising into an inverse map


@numba.njit(cache=True, nogil=True)
def _raster(dst: np.ndarray, src: np.ndarray, valpha: np.ndarray, tris: np.ndarray, out: np.ndarray,
            alpha: np.ndarray) -> None:
    h, w = out.shape[0], out.shape[1]
    for t in range(tris.shape[0]):
        i0, i1, i2 = tris[t, 0], tris[t, 1], tris[t, 2]
        x0, y0 = dst[i0, 0], dst[i0, 1]
        x1, y1 = dst[i1, 0], dst[i1, 1]
        x2, y2 = dst[i2, 0], dst[i2, 1]
        area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        if abs(area) < 1e-9:
            continue
        inv = 1.0 / area
        xmin = max(int(math.ceil(min(x0, min(x1, x2)) - 1e-6)), 0)
        xmax = min(int(math.floor(max(x0, max(x1, x2)) + 1e-6)), w - 1)
        ymin = max(int(math.ceil(min(y0, min(y1, y2)) - 1e-6)), 0)
        ymax = min(int(math.floor(max(y0, max(y1, y2)) + 1e-6)), h - 1)
        for y in range(ymin, ymax + 1):
            for x in range(xmin, xmax + 1):
                b1 = ((x - x0) * (y2 - y0) - (x2 - x0) * (y - y0)) * inv
                b2 = ((x1 - x0) * (y - y0) - (x - x0) * (y1 - y0)) * inv
                b0 = 1.0 - b1 - b2
                if b0 < -1e-6 or b1 < -1e-6 or b2 < -1e-6:
                    continue
                out[y, x, 0] = b0 * src[i0, 0] + b1 * src[i1, 0] + b2 * src[i2, 0]
                out[y, x, 1] = b0 * src[i0, 1] + b1 * src[i1, 1] + b2 * src[i2, 1]
                alpha[y, x] = b0 * valpha[i0] + b1 * valpha[i1] + b2 * valpha[i2]


def rasterize_inverse(dst: np.ndarray, src: np.ndarray, vertex_alpha: np.ndarray, triangles: np.ndarray,
                      out_map: np.ndarray, out_alpha: np.ndarray) -> None:
    """Write into ``out_map`` (h, w, 2) the source point of every pixel the moved mesh covers.

    ``dst``: vertex positions in the crop's pixel frame; ``src``: where they sample the photo;
    ``out_alpha`` gets the interpolated vertex alpha (the feathered mesh rim). Pixels no
    triangle covers keep what the arrays held.
    """
    _raster(np.ascontiguousarray(dst, np.float64), np.ascontiguousarray(src, np.float64),
            np.ascontiguousarray(vertex_alpha, np.float64), np.ascontiguousarray(triangles, np.int64),
            out_map, out_alpha)
