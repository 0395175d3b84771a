"""token2pose figures: `python -m benchmarks.token2pose`.

Prints a table, then one machine-readable line:
bone_len_err=<float> first_frame_err_px=<float> bank_coverage=<float> jitter_bank=<float>
jitter_projection=<float> ms_per_second_of_video=<float>

Tokens: held-out motion (the motion dataset's test split, never in the shipped bank) and, unless
--no-generate, motion generated from /work/shared/data/speech/jfk.flac with two prompts.
Portrait: skimage's astronaut through the real portrait analysis when it is importable,
otherwise a hand-built half-body portrait (the table says which).
- bone_len_err: mean |drawn / portrait bone length - 1|, bank method, over the bones whose length
  the portrait gives: those measured in the photo (both ends scored >= fit.RELIABLE_SCORE, not
  seen end-on) in every frame, and those sized from their measured mirror bone (the other arm)
  once the ease is over (the table also gives the largest error).
- first_frame_err_px: largest distance of a visible keypoint of frame 0 from the portrait's.
- bank_coverage: share of tokens the default bank serves (the rest fall back to projection).
- jitter_*: mean second difference (px per frame) of the drawn body and hand keypoints at 25 fps,
  the same tokens through both methods.
- ms_per_second_of_video: wall time of the bank method (lookup + fitting, motion decoding
  excluded) per second of output video.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from pipeline.paths import shared_data_dir
from pipeline.constants import VIDEO_FPS
from pipeline.data.humanml3d import default_dataset_dir
from pipeline.portrait.wholebody import BODY, HANDS

REPO = Path(__file__).resolve().parents[1]
JFK = shared_data_dir() / "speech" / "jfk.flac"


def _row(name: str, value: str) -> None:
    print(f"| {name:<52} | {value:>18} |")


def benchmark_portrait():
    """(portrait, description): the astronaut through analyze_portrait, or a hand-built one."""
    try:
        from skimage import data

        from pipeline.portrait.analysis import analyze_portrait

        return analyze_portrait(data.astronaut()), "astronaut (analyze_portrait)"
    except ImportError:
        from pipeline.token2pose.synthetic import synthetic_portrait

        return synthetic_portrait("half_body"), "hand-built half-body (analysis not importable)"


class Motion:
    """Tokens with their decoded joints (what a GenerationResult carries)."""

    def __init__(self, tokens: np.ndarray, joints: np.ndarray, name: str):
        self.tokens, self.joints, self.name = tokens, joints, name


def held_out_motions(tokenizer, dataset: Path, limit: int) -> list[Motion]:
    from pipeline.token2pose.api import decode_tokens
    from pipeline.token2pose.from_motion import tokens_of_features

    out = []
    for clip_id in (dataset / "test.txt").read_text().split()[:limit]:
        tokens = tokens_of_features(tokenizer, np.load(dataset / "new_joint_vecs" / f"{clip_id}.npy"))
        out.append(Motion(tokens, decode_tokens(tokens, tokenizer), clip_id))
    return out


def generated_motions() -> list[Motion]:
    from pipeline.audio import load_audio
    from pipeline.motion.generate import generate

    clip = load_audio(JFK)
    d = clip.duration_s
    out = []
    for seed, prompts in enumerate(([(0.0, d / 2, "a person waves with the right hand"), (d / 2, d, None)],
                                    [(0.0, d / 2, None), (d / 2, d, "a person raises both arms")])):
        result = generate(clip, prompts, seed=seed)
        out.append(Motion(result.tokens, result.joints, f"jfk seed {seed}"))
    return out


def jitter(pose) -> float:
    """Mean second difference (px/frame) of body and hand keypoints drawn in three consecutive frames."""
    idx = np.r_[np.arange(BODY.start, BODY.stop), np.arange(HANDS.start, HANDS.stop)]
    k, s = pose.keypoints[:, idx].astype(np.float64), pose.scores[:, idx] > 0
    acc = np.linalg.norm(k[2:] - 2 * k[1:-1] + k[:-2], axis=-1)
    ok = s[2:] & s[1:-1] & s[:-2]
    return float(acc[ok].mean()) if ok.any() else 0.0


def bone_errors(pose, portrait) -> tuple[float, float]:
    """(mean, max) of |drawn / portrait bone length - 1| over the bones whose length the portrait
    gives: every frame for the bones measured in the photo (both ends scored >= RELIABLE_SCORE,
    not seen end-on), and every frame after the ease for those sized from their mirror bone. An
    arm whose hand the photo hides (``portrait.hidden_hands``) keeps the photo's own pose and is
    not counted."""
    from pipeline.token2pose.fit import EASE_SECONDS, person_model
    from pipeline.token2pose.tree2d import BONES, bone_lengths_2d, with_virtual
    from pipeline.portrait.wholebody import BODY_INDEX as B

    person = person_model(portrait)
    ratio = np.abs(bone_lengths_2d(with_virtual(pose.keypoints.astype(np.float64))) / person.lengths - 1.0)
    held = np.zeros(ratio.shape[1], bool)
    for side in portrait.hidden_hands:
        held |= np.array([a in (B[f"{side}_shoulder"], B[f"{side}_elbow"]) for a, _ in BONES])
    eased = int(np.ceil(EASE_SECONDS * pose.fps))
    errors = np.concatenate([ratio[:, person.measured & ~held].ravel(), ratio[eased:, person.mirrored & ~held].ravel()])
    return float(errors.mean()), float(errors.max())


def first_frame_error(pose, portrait) -> float:
    from pipeline.token2pose.fit import MIN_SCORE

    known = (portrait.pose.scores[0] >= MIN_SCORE) & np.asarray(portrait.visible, dtype=bool)
    return float(np.linalg.norm(pose.keypoints[0, known] - portrait.pose.keypoints[0, known], axis=-1).max())


def amplitude(pose) -> float:
    """Mean wrist speed (px per second) while drawn: how much the arms move."""
    from pipeline.portrait.wholebody import BODY_INDEX as B

    idx = [B["left_wrist"], B["right_wrist"]]
    k = pose.keypoints[:, idx].astype(np.float64)
    return float(np.linalg.norm(np.diff(k, axis=0), axis=-1).mean() * pose.fps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=default_dataset_dir())
    parser.add_argument("--clips", type=int, default=20, help="held-out clips from the test split")
    parser.add_argument("--no-generate", action="store_true", help="skip the motions generated from jfk.flac")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from pipeline.motion.tokenizer import MotionTokenizer
    from pipeline.token2pose import default_bank, translate
    from pipeline.token2pose.api import DEFAULT_TOKENIZER_DIR

    tokenizer = MotionTokenizer.from_pretrained(DEFAULT_TOKENIZER_DIR)
    bank = default_bank()
    portrait, portrait_name = benchmark_portrait()
    motions = held_out_motions(tokenizer, args.dataset, args.clips) if (args.dataset / "test.txt").exists() else []
    if not args.no_generate and JFK.exists():
        try:
            motions += generated_motions()
        except (FileNotFoundError, ImportError) as err:
            print(f"(generation skipped: {err})")
    if not motions:
        raise SystemExit(f"no motions: build the dataset ({args.dataset}) or allow generation")

    stats = {m: {"jitter": [], "bone": [], "bone_max": [], "first": [], "amp": []} for m in ("bank", "projection")}
    coverage, seconds, elapsed, fidelity = [], 0.0, 0.0, []
    for motion in motions:
        poses = {}
        for method in ("projection", "bank"):
            t0 = time.perf_counter()
            result = translate(motion, portrait, bank=bank, method=method, fps=VIDEO_FPS)
            dt = time.perf_counter() - t0
            pose = poses[method] = result.pose
            if method == "bank":
                elapsed += dt
                seconds += len(pose) / pose.fps
                coverage.append(result.coverage)
            s = stats[method]
            s["jitter"].append(jitter(pose))
            bone_mean, bone_max = bone_errors(pose, portrait)
            s["bone"].append(bone_mean)
            s["bone_max"].append(bone_max)
            s["first"].append(first_frame_error(pose, portrait))
            s["amp"].append(amplitude(pose))
        drawn = (poses["bank"].scores[:, BODY] > 0) & (poses["projection"].scores[:, BODY] > 0)
        gap = np.linalg.norm(poses["bank"].keypoints[:, BODY] - poses["projection"].keypoints[:, BODY], axis=-1)
        fidelity.append(float(gap[drawn].mean()))

    mean = {m: {k: float(np.max(v) if k.endswith("_max") else np.mean(v)) for k, v in s.items()}
            for m, s in stats.items()}
    print(f"token2pose on {len(motions)} motions ({seconds:.1f} s of video at {VIDEO_FPS} fps), portrait: "
          f"{portrait_name}, framing {portrait.framing}; bank: {len(bank)} windows, "
          f"{len(bank.covered_codes)} codes")
    _row("metric", "bank | projection")
    for key, name in (("jitter", "jitter (px/frame, mean 2nd difference)"),
                      ("bone", "bone length error (share of portrait length)"),
                      ("bone_max", "largest bone length error (same bones, worst frame)"),
                      ("first", "first frame error (px, visible keypoints)"),
                      ("amp", "wrist speed (px/s)")):
        _row(name, f"{mean['bank'][key]:.3f} | {mean['projection'][key]:.3f}")
    _row("bank coverage (share of tokens from the bank)", f"{np.mean(coverage):.3f}")
    _row("bank vs projection, mean body keypoint gap (px)", f"{np.mean(fidelity):.2f}")
    _row("bank method time (ms per second of video)", f"{1000 * elapsed / seconds:.2f}")
    print(f"bone_len_err={mean['bank']['bone']:.5f} first_frame_err_px={max(stats['bank']['first']):.4f} "
          f"bank_coverage={np.mean(coverage):.4f} jitter_bank={mean['bank']['jitter']:.4f} "
          f"jitter_projection={mean['projection']['jitter']:.4f} "
          f"ms_per_second_of_video={1000 * elapsed / seconds:.3f}")


if __name__ == "__main__":
    main()
