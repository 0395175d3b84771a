"""Which of MediaPipe's 478 face-mesh points stand for each of the 68 iBUG / dlib face points.

The pose maps and DWPose-trained models speak the 68-point layout, mediapipe's face mesh gives
478 points. Each iBUG point below is the mean of one or two mesh vertices of the canonical face
model (mediapipe/modules/face_geometry/data/canonical_face_model_uv_visualization.png), chosen so
that the jaw points are spread evenly along the lower face oval and the eye and lip points sit
on the same contours as in iBUG. "Right" is the person's right (image left in a frontal photo).
Similar correspondences are in common use (e.g. PeizhiYan/Mediapipe_2_Dlib_Landmarks); this
table was written for this project.
"""

from __future__ import annotations

import numpy as np

MESH_TO_IBUG68: tuple[tuple[int, ...], ...] = (
    # jaw 0-16: from the right temple down the oval to the chin (8), up to the left temple
    (127,), (234,), (93,), (132, 58), (172,), (136,), (150, 149), (176, 148), (152,),
    (377, 400), (378, 379), (365,), (397,), (288, 361), (323,), (454,), (356,),
    # right brow 17-21, outer to inner
    (70,), (63,), (105,), (66,), (107,),
    # left brow 22-26, inner to outer
    (336,), (296,), (334,), (293,), (300,),
    # nose bridge 27-30, top to tip
    (168,), (197,), (5,), (4,),
    # nostrils and base 31-35, right to left
    (98,), (97,), (2,), (326,), (327,),
    # right eye 36-41: outer corner, upper lid x2, inner corner, lower lid x2
    (33,), (160,), (158,), (133,), (153,), (144,),
    # left eye 42-47: inner corner, upper lid x2, outer corner, lower lid x2
    (362,), (385,), (387,), (263,), (373,), (380,),
    # outer lips 48-59: right corner, upper lip to the left corner, lower lip back
    (61,), (40,), (37,), (0,), (267,), (270,), (291,), (321,), (314,), (17,), (84,), (91,),
    # inner lips 60-67: right corner, upper inner lip, left corner, lower inner lip
    (78,), (81,), (13,), (311,), (308,), (402,), (14,), (178,),
)
assert len(MESH_TO_IBUG68) == 68

_INDEX = np.zeros((68, 2), dtype=np.int64)
for _i, _vertices in enumerate(MESH_TO_IBUG68):
    _INDEX[_i] = (_vertices[0], _vertices[-1])


def mesh_to_ibug68(mesh: np.ndarray) -> np.ndarray:
    """(68, D) iBUG points from (N >= 468, D) face-mesh points (pairs are averaged)."""
    mesh = np.asarray(mesh)
    if mesh.ndim != 2 or mesh.shape[0] < 468:
        raise ValueError(f"expected (468 or 478, D) face-mesh points, got {mesh.shape}")
    return 0.5 * (mesh[_INDEX[:, 0]] + mesh[_INDEX[:, 1]])
