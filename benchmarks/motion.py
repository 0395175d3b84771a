"""Motion model figures: `python -m benchmarks.motion`.

Prints a table, then one machine-readable line:
vq_mpjpe_mm=<float> vq_base_mpjpe_mm=<float> text_action_acc=<float> beat_consistency=<float> audio_only_beat_consistency=<float>
rtf_60s=<float> edit_5s_ms=<float> paraphrase_action_acc=<float> side_acc=<float>
unknown_prompt_recall=<float> unknown_false_alarm=<float> r_precision_top1=<float> r_precision_top3=<float>
fid=<float> real_r_precision_top3=<float> [new_action_acc=<float> new_action_side_acc=<float>]
The action classifier and retrieval evaluator are those in --checkpoints (default assets/checkpoints).

- vq_mpjpe_mm: tokenizer reconstruction error (global joints, root path integrated over each whole
  clip, mm) on the dataset's test split, with every residual layer (MoMask's figure: real motion
  through encode_residual/decode); vq_base_mpjpe_mm: the same with the base tokens only, which is
  all the generator produces (generated motion cannot be closer than this to what it imitates).
  Without residual layers both are the same number.
- text_action_acc: prompts naming the procedural actions, generated WITH speech present (held-out
  synthetic speech), classified by the shipped action classifier; share assigned to the prompted action.
- beat_consistency: BC (audio onsets vs motion velocity minima, sigma 0.1 s) of audio-driven motion
  generated for held-out speech; audio_only_beat_consistency: the same motions scored against the
  audio of other clips (shuffled pairing: one random cyclic shift, seeded), the chance baseline BC
  must beat. The table also gives the mean over all N-1 cyclic shifts (less noisy, same expectation).
  --bc-pairs takes the BC speech from another pair folder's test split (e.g. cache/cospeech-big,
  192 held-out clips, with --speech-clips up to 192); text control always uses cache/cospeech.
- paraphrase_action_acc / side_acc: the hand-written held-out paraphrases of benchmarks/prompt_sets.py
  (test half, never trained on) generated over held-out speech, with prompt understanding; the
  classifier's top-1 must be the expected action, and the hand that moved more the side named
  (benchmarks/text_control.py). The table also gives both with the prompts fed verbatim.
- new_action_acc / new_action_side_acc: the same on benchmarks/prompt_sets.NEW_ACTIONS, director's
  prompts for the 37 whole-body actions issue 14 added (understood mode only; printed when the
  classifier knows those actions).
- the table's "tokenizer round trip" rows: the real library clips of the val and test splits after
  the tokenizer's encode-decode, classified (raw clips score 1.000): the ceiling of text control for
  any generator on these codes, for the older and the 37 new actions.
- unknown_prompt_recall / unknown_false_alarm: out-of-vocabulary test prompts reported as unknown,
  and in-vocabulary ones wrongly reported (threshold chosen on the dev half; benchmarks.prompts),
  against the vocabulary of the generator in --checkpoints.
- r_precision_top1 / top3 / fid: generated motion for the test split's captions scored by the
  shipped retrieval evaluator (benchmarks/retrieval.py); real_r_precision_top3 is real test motion
  (the ceiling). Skipped, with the command that trains it, when the evaluator is absent.
- rtf_60s: seconds of motion per second of compute for 60 s of speech (model loaded, audio
  features and decoding included); edit_5s_ms: regenerating one 5 s span (25 tokens).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from pipeline.constants import AUDIO_SAMPLE_RATE, MOTION_FPS
from pipeline.data.humanml3d import MotionDataset, default_dataset_dir

REPO = Path(__file__).resolve().parents[1]
PAIRS_DIR = REPO / "cache" / "cospeech"


def _row(name: str, value: str) -> None:
    print(f"| {name:<58} | {value:>14} |")


def _held_out_speech(limit: int, pairs_dir: Path = PAIRS_DIR) -> list[tuple[str, np.ndarray]]:
    """(id, 16 kHz samples) of the co-speech pairs' test split (synthetic speech never trained on)."""
    from pipeline.audio import load_audio

    ids = (pairs_dir / "test.txt").read_text().split()[:limit]
    return [(cid, load_audio(pairs_dir / "wav" / f"{cid}.wav").samples) for cid in ids]


def tokenizer_quality(checkpoints: Path, dataset: MotionDataset) -> dict:
    from pipeline.motion.tokenizer import MotionTokenizer
    from pipeline.train.tokenizer import evaluate_tokenizer

    model = MotionTokenizer.from_pretrained(checkpoints / "motion_tokenizer").eval()
    return evaluate_tokenizer(model, dataset, split="test")


def text_action_accuracy(models, speech: list[tuple[str, np.ndarray]], per_action: int, seed: int,
                         classifier_dir: Path | None = None) -> dict:
    """Generate each action's own captions (fresh draws) over held-out speech; classify the result."""
    from pipeline.eval.action_classifier import ActionClassifier, action_accuracy, default_checkpoint_dir
    from pipeline.motion.generate import generate
    from pipeline.data.synthetic.procedural import action_names, generate_action

    classifier = ActionClassifier.from_pretrained(classifier_dir or default_checkpoint_dir()).eval()
    rng = np.random.default_rng(seed)
    motions, targets = [], []
    names = [n for n in action_names() if n in classifier.labels]   # the actions the shipped models know
    for a, name in enumerate(names):
        captions = generate_action(name, rng).captions
        for k in range(per_action):
            _, samples = speech[(a * per_action + k) % len(speech)]
            samples = samples[: 6 * AUDIO_SAMPLE_RATE]
            duration = len(samples) / AUDIO_SAMPLE_RATE
            result = generate((AUDIO_SAMPLE_RATE, samples), [(0.0, duration, captions[k % len(captions)])],
                              seed=seed + k, models=models)
            motions.append(result.joints)
            targets.append(name)
    return action_accuracy(classifier, motions, targets)


def library_clips(dataset: MotionDataset, classifier):
    """(action, features (1, T, 263) float32 tensor) of the real procedural clips of the val and
    test splits whose action the classifier knows: the clips the round-trip measures use."""
    for cid in dataset.clip_ids("val") + dataset.clip_ids("test"):
        if dataset.source_of(cid) != "synthetic":
            continue
        clip = dataset.load(cid)
        if clip.origin in classifier.labels:
            yield clip.origin, torch.from_numpy(np.asarray(clip.features, np.float32))[None]


def round_trip_joints(tokenizer, features: torch.Tensor) -> np.ndarray:
    """(T, 22, 3) joints of ``features`` (1, T, 263) after the tokenizer's encode-decode."""
    from pipeline.motion.features import features_to_joints_torch

    with torch.inference_mode():
        decoded = tokenizer.decode(tokenizer.encode(features), length=features.shape[1])[0]
    return features_to_joints_torch(decoded.double()).numpy()


def tokenizer_action_ceiling(models, dataset: MotionDataset, classifier, new_actions: set[str]) -> dict:
    """Classifier top-1 on the real procedural clips of the val and test splits, raw and after the
    tokenizer's encode-decode, for the issue-14 actions (`new_actions`) and the others: what the
    codes can express bounds what any generator on them can score in text control."""
    from pipeline.eval.action_classifier import action_accuracy
    from pipeline.motion.features import features_to_joints_torch

    groups: dict[str, tuple[list, list, list]] = {"old": ([], [], []), "new": ([], [], [])}
    for action, features in library_clips(dataset, classifier):
        raw, round_trip, targets = groups["new" if action in new_actions else "old"]
        raw.append(features_to_joints_torch(features[0].double()).numpy())
        round_trip.append(round_trip_joints(models.tokenizer, features))
        targets.append(action)
    return {name: {"n": len(t), "raw": action_accuracy(classifier, r, t)["top1"],
                   "round_trip": action_accuracy(classifier, rt, t)["top1"]}
            for name, (r, rt, t) in groups.items()}


def _all_shifts_baseline(pairs, durations) -> float:
    """Mean BC of each motion against every other clip's audio (all N-1 cyclic shifts)."""
    from pipeline.eval.beats import mean_beat_consistency

    n, scores = len(pairs), []
    for shift in range(1, n):
        shuffled = []
        for i in range(n):
            audio = np.asarray(pairs[(i + shift) % n][1], dtype=np.float64)
            shuffled.append((pairs[i][0], audio[audio <= durations[i]]))
        scores.append(mean_beat_consistency(shuffled))
    return float(np.mean(scores))


def beat_scores(models, speech: list[tuple[str, np.ndarray]], seed: int, pairs_dir: Path = PAIRS_DIR) -> dict:
    from pipeline.eval.beats import audio_beats, mean_beat_consistency, motion_beats, shuffled_baseline
    from pipeline.motion.generate import generate

    pairs, durations = [], []
    for i, (_, samples) in enumerate(speech):
        result = generate((AUDIO_SAMPLE_RATE, samples), None, seed=seed + i, models=models)
        pairs.append((motion_beats(result.joints, MOTION_FPS), audio_beats(samples, AUDIO_SAMPLE_RATE)))
        durations.append(len(samples) / AUDIO_SAMPLE_RATE)
    rule_pairs, round_trip_pairs = [], []
    for cid, samples in speech:
        onsets = audio_beats(samples, AUDIO_SAMPLE_RATE)
        joints = np.load(pairs_dir / "new_joints" / f"{cid}.npy")
        rule_pairs.append((motion_beats(joints, MOTION_FPS), onsets))
        round_trip_pairs.append((motion_beats(_tokenizer_round_trip(models, cid, pairs_dir), MOTION_FPS), onsets))
    return {"generated": mean_beat_consistency(pairs),
            "shuffled": shuffled_baseline(pairs, np.random.default_rng(seed), clip_durations=durations),
            "shuffled_all": _all_shifts_baseline(pairs, durations),
            "rule_based_reference": mean_beat_consistency(rule_pairs),
            "rule_based_shuffled": shuffled_baseline(rule_pairs, np.random.default_rng(seed), clip_durations=durations),
            "tokenizer_round_trip": mean_beat_consistency(round_trip_pairs)}


def _tokenizer_round_trip(models, clip_id: str, pairs_dir: Path = PAIRS_DIR) -> np.ndarray:
    """Joints of a training pair's motion after the tokenizer's encode and decode (what tokens can express)."""
    from pipeline.motion.features import features_to_joints_torch

    features = torch.from_numpy(np.load(pairs_dir / "new_joint_vecs" / f"{clip_id}.npy")).float()[None]
    with torch.inference_mode():
        decoded = models.tokenizer.decode(models.tokenizer.encode(features), length=features.shape[1])[0]
        return features_to_joints_torch(decoded.double()).numpy()


def speed(models, repeats: int) -> dict:
    from pipeline.audio import load_audio
    from pipeline.motion.generate import generate, regenerate_span
    from benchmarks.motion_inputs import border_velocity, segments_for, speech

    clip = load_audio((AUDIO_SAMPLE_RATE, speech(60.0, PAIRS_DIR)))
    segments = segments_for(clip.duration_s, 4.0)
    generate(clip, segments, models=models)  # warm-up
    gen_s, edit_s = [], []
    for r in range(repeats):
        t0 = time.perf_counter()
        result = generate(clip, segments, seed=r, models=models)
        gen_s.append(time.perf_counter() - t0)
        n = result.num_tokens
        t0 = time.perf_counter()
        regenerate_span(result, n // 2, n // 2 + 25, seed=r + 100, models=models)
        edit_s.append(time.perf_counter() - t0)
    return {"duration_s": clip.duration_s, "generate_s": float(np.median(gen_s)),
            "edit_ms": 1000 * float(np.median(edit_s)), "border": border_velocity(result)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoints", type=Path, default=REPO / "assets" / "checkpoints")
    parser.add_argument("--dataset", type=Path, default=default_dataset_dir())
    parser.add_argument("--per-action", type=int, default=2, help="generations per procedural action")
    parser.add_argument("--speech-clips", type=int, default=20, help="held-out speech clips for BC "
                        "(at most the test split of --bc-pairs: 20 in cache/cospeech)")
    parser.add_argument("--bc-pairs", type=Path, default=PAIRS_DIR,
                        help="pair folder whose test split gives the BC speech (default cache/cospeech)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not (PAIRS_DIR / "test.txt").exists():
        raise SystemExit(f"needs the co-speech pairs at {PAIRS_DIR}: python -m pipeline.data.synthetic.cospeech.pairs --out {PAIRS_DIR}")

    from pipeline.motion.generate import load_models

    models = load_models(args.checkpoints)
    vq = tokenizer_quality(args.checkpoints, MotionDataset(args.dataset))
    if not (args.bc_pairs / "test.txt").exists():
        raise SystemExit(f"--bc-pairs {args.bc_pairs} has no test.txt")
    speech_clips = _held_out_speech(20)
    bc_clips = _held_out_speech(args.speech_clips, args.bc_pairs)
    classifier_dir = args.checkpoints / "action_classifier"    # the classifier beside the models benchmarked
    action = text_action_accuracy(models, speech_clips, args.per_action, args.seed, classifier_dir)
    beats = beat_scores(models, bc_clips, args.seed, args.bc_pairs)
    timing = speed(models, args.repeats)
    rtf = timing["duration_s"] / timing["generate_s"]
    from benchmarks.prompts import evaluate as evaluate_prompts
    from benchmarks.prompt_sets import NEW_ACTIONS
    from benchmarks.text_control import paraphrase_generation
    from pipeline.eval.action_classifier import ActionClassifier

    classifier = ActionClassifier.from_pretrained(classifier_dir).eval()
    para = paraphrase_generation(models, [s for _, s in speech_clips], classifier, args.seed)
    new_items = [item for item in NEW_ACTIONS if item[1] in classifier.labels]
    para_new = (paraphrase_generation(models, [s for _, s in speech_clips], classifier, args.seed, items=new_items,
                                      modes=("understood",))["understood"] if new_items else None)
    prompts = evaluate_prompts("test", generator_dir=args.checkpoints / "motion_generator")  # its vocabulary
    ceiling = tokenizer_action_ceiling(models, MotionDataset(args.dataset), classifier, {a for _, a, _ in NEW_ACTIONS})
    def retrieval_dir() -> Path:
        return args.checkpoints / "retrieval_evaluator"

    retrieval = None
    if (retrieval_dir() / "model.safetensors").is_file():
        from benchmarks.retrieval import retrieval_scores
        from pipeline.eval.retrieval import RetrievalEvaluator

        retrieval = retrieval_scores(models, RetrievalEvaluator.from_pretrained(retrieval_dir()),
                                     MotionDataset(args.dataset), [s for _, s in speech_clips], args.seed)
    else:
        print(f"no retrieval evaluator at {retrieval_dir()}: python -m pipeline.train.retrieval (R-precision, FID skipped)")

    print(f"| {'measure':<58} | {'value':>14} |")
    print(f"|{'-' * 60}|{'-' * 16}|")
    if "mpjpe_mm_all_layers" in vq:
        _row("tokenizer: test MPJPE, global, all residual layers (mm)", f"{vq['mpjpe_mm_all_layers']:.1f}")
        _row("tokenizer: test MPJPE, root-relative, all layers (mm)", f"{vq['mpjpe_root_rel_mm_all_layers']:.1f}")
    _row("tokenizer: test MPJPE, global, base tokens (mm)", f"{vq['mpjpe_mm']:.1f}")
    _row("tokenizer: test MPJPE, root-relative, base tokens (mm)", f"{vq['mpjpe_root_rel_mm']:.1f}")
    _row("tokenizer: codebook usage on test", f"{vq['codebook_usage']:.2f}")
    _row(f"text control with speech: top-1 ({action['n']} generations)", f"{action['top1']:.3f}")
    _row("text control with speech: top-3", f"{action['top3']:.3f}")
    _row(f"BC, generated audio-driven motion ({len(bc_clips)} held-out clips)", f"{beats['generated']:.3f}")
    _row("BC, same motion vs shuffled audio (baseline)", f"{beats['shuffled']:.3f}")
    _row("BC, same motion vs shuffled audio, mean of all pairings", f"{beats['shuffled_all']:.3f}")
    _row("BC, rule-based training gestures / shuffled (reference)",
         f"{beats['rule_based_reference']:.3f} / {beats['rule_based_shuffled']:.3f}")
    _row("BC, the same gestures after tokenizer encode-decode", f"{beats['tokenizer_round_trip']:.3f}")
    _row(f"generate {timing['duration_s']:.0f} s of speech (s, {args.threads} threads)", f"{timing['generate_s']:.2f}")
    _row("seconds of motion per second of compute", f"{rtf:.1f}")
    _row("regenerate a 5 s span (ms)", f"{timing['edit_ms']:.0f}")
    _row("speed at segment borders, max (m/s)", f"{timing['border']['border_max']:.2f}")
    _row("speed inside segments, 99th percentile (m/s)", f"{timing['border']['inside_p99']:.2f}")
    u, v = para["understood"], para["verbatim"]
    _row(f"unseen paraphrases: action of generated motion ({u['n']})", f"{u['action_acc']:.3f}")
    _row("  the same, prompts fed verbatim (no understanding)", f"{v['action_acc']:.3f}")
    _row(f"unseen paraphrases: side of generated motion ({u['n_sided']})", f"{u['side_acc']:.3f}")
    _row("  the same, prompts fed verbatim (no understanding)", f"{v['side_acc']:.3f}")
    if para_new is not None:
        _row(f"unseen prompts for the 37 new actions: action ({para_new['n']})", f"{para_new['action_acc']:.3f}")
        _row(f"  the same: side of generated motion ({para_new['n_sided']})", f"{para_new['side_acc']:.3f}")
    for name, what in (("old", "43 older"), ("new", "37 new")):
        c = ceiling[name]
        if c["n"]:
            _row(f"tokenizer round trip, {c['n']} library clips, {what}: top-1", f"{c['round_trip']:.3f}")
    _row(f"unknown prompts reported ({prompts['n_out']} out-of-vocabulary)", f"{prompts['recall']:.3f}")
    _row(f"known prompts wrongly reported unknown ({prompts['n_in']})", f"{prompts['false_alarm']:.3f}")
    if retrieval is not None:
        g, r = retrieval["generated"], retrieval["real"]
        _row(f"R-precision top-1/top-3, generated ({retrieval['n']} test captions)", f"{g['top1']:.3f}/{g['top3']:.3f}")
        _row("R-precision top-1/top-3, real test motion (ceiling)", f"{r['top1']:.3f}/{r['top3']:.3f}")
        _row("FID generated vs real (real vs real halves)", f"{retrieval['fid']:.2f} ({retrieval['fid_real_halves']:.2f})")
    extra = "" if retrieval is None else (
        f" r_precision_top1={retrieval['generated']['top1']:.3f} r_precision_top3={retrieval['generated']['top3']:.3f}"
        f" fid={retrieval['fid']:.3f} real_r_precision_top3={retrieval['real']['top3']:.3f}")
    vq_all = vq.get("mpjpe_mm_all_layers", vq["mpjpe_mm"])
    print(f"vq_mpjpe_mm={vq_all:.2f} vq_base_mpjpe_mm={vq['mpjpe_mm']:.2f} text_action_acc={action['top1']:.3f} "
          f"beat_consistency={beats['generated']:.3f} audio_only_beat_consistency={beats['shuffled']:.3f} "
          f"rtf_60s={rtf:.1f} edit_5s_ms={timing['edit_ms']:.1f} paraphrase_action_acc={u['action_acc']:.3f} "
          f"side_acc={u['side_acc']:.3f} unknown_prompt_recall={prompts['recall']:.3f} "
          f"unknown_false_alarm={prompts['false_alarm']:.3f}{extra}"
          + ("" if para_new is None else f" new_action_acc={para_new['action_acc']:.3f}"
             f" new_action_side_acc={para_new['side_acc']:.3f}"))


if __name__ == "__main__":
    main()
