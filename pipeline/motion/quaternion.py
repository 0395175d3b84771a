"""Quaternion helpers in torch (w, x, y, z order), batched over any leading dimensions.

The motion features are defined by quaternion arithmetic (HumanML3D), so the training path (torch,
batched) and the numpy path share these functions; numpy callers convert at the boundary.
"""

from __future__ import annotations

import torch


def qinv(q: torch.Tensor) -> torch.Tensor:
    """Inverse of a unit quaternion (its conjugate)."""
    return q * q.new_tensor([1.0, -1.0, -1.0, -1.0])


def qnormalize(q: torch.Tensor) -> torch.Tensor:
    return q / torch.linalg.norm(q, dim=-1, keepdim=True)


def qmul(q: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Hamilton product q * r (rotate by r first, then by q), with broadcasting."""
    qw, qx, qy, qz = q.unbind(-1)
    rw, rx, ry, rz = r.unbind(-1)
    return torch.stack((
        qw * rw - qx * rx - qy * ry - qz * rz,
        qw * rx + qx * rw + qy * rz - qz * ry,
        qw * ry - qx * rz + qy * rw + qz * rx,
        qw * rz + qx * ry - qy * rx + qz * rw,
    ), dim=-1)


def qrot(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4), with broadcasting."""
    q, v = torch.broadcast_tensors(q, torch.cat([v.new_zeros(v.shape[:-1] + (1,)), v], -1))
    qvec, v = q[..., 1:], v[..., 1:]
    uv = torch.linalg.cross(qvec, v, dim=-1)
    uuv = torch.linalg.cross(qvec, uv, dim=-1)
    return v + 2.0 * (q[..., :1] * uv + uuv)


def qbetween(v0: torch.Tensor, v1: torch.Tensor) -> torch.Tensor:
    """The shortest-arc rotation that turns direction v0 into direction v1."""
    v0, v1 = torch.broadcast_tensors(v0, v1)
    axis = torch.linalg.cross(v0, v1, dim=-1)
    w = torch.sqrt((v0 ** 2).sum(-1, keepdim=True) * (v1 ** 2).sum(-1, keepdim=True))
    w = w + (v0 * v1).sum(-1, keepdim=True)
    return qnormalize(torch.cat([w, axis], dim=-1))


def quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) from quaternions (..., 4)."""
    w, x, y, z = q.unbind(-1)
    two_s = 2.0 / (q * q).sum(-1)
    m = torch.stack((
        1 - two_s * (y * y + z * z), two_s * (x * y - z * w), two_s * (x * z + y * w),
        two_s * (x * y + z * w), 1 - two_s * (x * x + z * z), two_s * (y * z - x * w),
        two_s * (x * z - y * w), two_s * (y * z + x * w), 1 - two_s * (x * x + y * y),
    ), dim=-1)
    return m.reshape(q.shape[:-1] + (3, 3))


def quat_to_cont6d(q: torch.Tensor) -> torch.Tensor:
    """The continuous 6D rotation (first two matrix columns, concatenated) used by HumanML3D."""
    m = quat_to_matrix(q)
    return torch.cat([m[..., 0], m[..., 1]], dim=-1)


def cont6d_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """Rotation matrices from 6D rotations, by Gram-Schmidt (tolerates unnormalised input)."""
    x = d6[..., 0:3] / torch.linalg.norm(d6[..., 0:3], dim=-1, keepdim=True)
    z = torch.linalg.cross(x, d6[..., 3:6], dim=-1)
    z = z / torch.linalg.norm(z, dim=-1, keepdim=True)
    y = torch.linalg.cross(z, x, dim=-1)
    return torch.stack([x, y, z], dim=-1)


def y_rotation(angle: torch.Tensor) -> torch.Tensor:
    """Quaternions for rotations by `angle` radians about the +Y axis."""
    half = angle / 2
    zero = torch.zeros_like(angle)
    return torch.stack([torch.cos(half), zero, torch.sin(half), zero], dim=-1)
