"""Motion representation and dataset figures: `python -m benchmarks.representation`.

Prints a table, then one machine-readable line:
fixture_recover_max_err_m=<float> dataset_clips=<int> dataset_minutes=<float> cmu_minutes=<float>
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from pipeline.paths import shared_data_dir
from pipeline.data.build import build_dataset, read_summary
from pipeline.data.humanml3d import default_dataset_dir
from pipeline.motion.features import FEATURE_GROUPS, features_to_joints, joints_to_features

SHARED = shared_data_dir()
GROUP_NAMES = ("root rot vel", "root lin vel", "root height", "joint positions", "joint rotations 6D",
               "joint velocities", "foot contacts")


def _row(name: str, value: str) -> None:
    print(f"| {name:<52} | {value:>18} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, default=default_dataset_dir())
    parser.add_argument("--rebuild", action="store_true", help="rebuild the dataset even if it exists")
    args = parser.parse_args()

    fixture = SHARED / "humanml3d-format"
    ref_joints = np.load(fixture / "new_joints" / "012314.npy")
    ref_feats = np.load(fixture / "new_joint_vecs" / "012314.npy")
    t0 = time.perf_counter()
    recovered = features_to_joints(ref_feats)
    recover_ms = (time.perf_counter() - t0) * 1e3
    recover_err = float(np.abs(recovered - ref_joints).max())
    t0 = time.perf_counter()
    ours = joints_to_features(ref_joints, target_offsets=None)
    extract_ms = (time.perf_counter() - t0) * 1e3
    feat_err = np.abs(ours - ref_feats[:-1])

    if args.rebuild or not (args.dataset / "summary.json").exists():
        t0 = time.perf_counter()
        build_dataset(args.dataset, SHARED / "cmu-bvh")
        print(f"built the dataset in {time.perf_counter() - t0:.1f} s -> {args.dataset}")
    summary = read_summary(args.dataset)

    print(f"| {'measure':<52} | {'value':>18} |")
    print(f"|{'-' * 54}|{'-' * 20}|")
    _row("fixture: recover joints, max error (m)", f"{recover_err:.2e}")
    _row("fixture: recover 170 frames (ms)", f"{recover_ms:.1f}")
    _row("fixture: extract features, 170 frames (ms)", f"{extract_ms:.1f}")
    for name, group in zip(GROUP_NAMES, FEATURE_GROUPS):
        _row(f"fixture features: {name} (median / max)",
             f"{np.median(feat_err[:, group]):.1e} / {feat_err[:, group].max():.1e}")
    for source, clips in summary["clips"].items():
        _row(f"dataset: {source} clips / minutes", f"{clips} / {summary['minutes'][source]:.1f}")
    _row("dataset: total clips / minutes", f"{summary['total_clips']} / {summary['total_minutes']:.1f}")
    _row("dataset: CMU takes skipped", str(len(summary["skipped_takes"])))
    print(f"fixture_recover_max_err_m={recover_err:.3e} dataset_clips={summary['total_clips']} "
          f"dataset_minutes={summary['total_minutes']:.2f} cmu_minutes={summary['minutes'].get('cmu', 0.0):.2f}")


if __name__ == "__main__":
    main()
