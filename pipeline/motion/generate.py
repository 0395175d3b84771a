"""Motion from speech and per-segment text prompts: the API the studio (and the CLI) call.

    from pipeline.motion.generate import generate, regenerate_span
    result = generate("speech.wav", [(0.0, 2.0, "a person waves with the right hand"), (2.0, 4.1, None)])
    edited = regenerate_span(result, start_token=3, end_token=8, seed=1)

A segment without a prompt is audio-driven only: it gets the fixed prompt "A person is giving a
speech." (the audio branch's training prompt) and no classifier-free guidance; windows holding only
such segments get audio guidance instead when the generator config sets audio_guidance != 1
(logits without the audio branch + w * (with - without)). Locked tokens are
kept exactly and act as context. The tokenizer decodes the whole token sequence at once (its
convolutions see across segment borders, so borders do not jump).
"""

from __future__ import annotations

import math
import threading
import warnings as _warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from pipeline.constants import CODEBOOK_SIZE, MOTION_FPS, TOKEN_DOWNSAMPLE, TOKENS_PER_SECOND
from pipeline.motion.generator.config import SPEECH_PROMPT, tokenizer_sha256
from pipeline.motion.generator.model import DualBranchGenerator
from pipeline.motion.generator.sampling import SamplingOptions, decode_windowed

DEFAULT_CHECKPOINT_DIR = Path(__file__).resolve().parents[2] / "assets" / "checkpoints"
TOKENIZER_SUBDIR = "motion_tokenizer"
GENERATOR_SUBDIR = "motion_generator"
DEFAULT_GUIDANCE = 3.0
DEFAULT_STEPS = 8
CANONICAL_SIDE = "right"
"""The side to set Models.canonical_side to when one-arm actions are to be generated on one side.
The shipped generator binds "right" far better than "left" (the test half's sided paraphrases with
the sides swapped, 3 seeds: right 0.83, left 0.50; scripts/side_diagnosis.py, generator card): its
library clips were drawn about 2:1 right-handed and not mirrored. A left request is then generated
right-handed and the motion of its tokens mirrored (the dataset's mirror,
pipeline.motion.features.mirror_features) and encoded again."""
MIRROR_MARGIN_TOKENS = 4
"""Tokens of context decoded on each side of a mirrored span (the tokenizer's receptive field)."""
SEGMENT_TOLERANCE_S = 0.05
"""Gaps / overlaps / overshoot up to this are forgiven (a motion frame is 0.05 s)."""

Segment = tuple  # (start_s, end_s, prompt or None)


@dataclass
class Models:
    tokenizer: object           # MotionTokenizer
    generator: object           # DualBranchGenerator
    text_encoder: object        # TextEncoder
    audio_features: object      # AudioFeatureExtractor
    checkpoint_dir: Path
    audio_branch_trained: bool = True
    notes: list = field(default_factory=list)
    """Warnings about the checkpoints themselves (added to every result's warnings)."""
    understand_prompts: bool = True
    """Prompts go through pipeline.text.understand (side, count, speed, paraphrases, unknown
    prompts) and the generator gets the caption it was trained on; False feeds them verbatim."""
    canonical_side: str | None = None
    """"left" / "right": one-arm library actions asked for on the other side are generated on this
    side and mirrored (:func:`canonical_sides`, :func:`mirror_token_spans`); None (the default)
    generates every side as asked. Off by default: with the shipped chain it raised the side of the
    unseen sided paraphrases but lowered their action (the tokenizer's re-encoding; generator card)."""


@dataclass
class GenerationResult:
    tokens: np.ndarray                  # (N,) int64 codebook ids
    features: np.ndarray                # (4N, 263) float32 raw HumanML3D features
    joints: np.ndarray                  # (4N, 22, 3) float32 metres, Y up
    token_times: np.ndarray             # (N,) start time in seconds of each token (token i: [i/5, (i+1)/5))
    segments: list                      # [(start_s, end_s, prompt or None)] as validated
    warnings: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    seed: int = 0
    guidance: float = DEFAULT_GUIDANCE
    steps: int = DEFAULT_STEPS
    token_prompts: list = field(default_factory=list, repr=False)   # (N,) the user prompt per token or None
    audio_features: np.ndarray | None = field(default=None, repr=False)  # (T, dim) at 20 fps, for edits
    checkpoint_dir: Path | None = field(default=None, repr=False)
    interpretations: dict = field(default_factory=dict, repr=False)
    """user prompt -> PromptInterpretation (what the generator was given, unknown prompts)."""

    @property
    def num_tokens(self) -> int:
        return int(len(self.tokens))

    @property
    def fps(self) -> int:
        return MOTION_FPS


# ------------------------------------------------------------------------------------ models
_MODELS: dict[str, Models] = {}
_LOCK = threading.Lock()


def load_models(checkpoint_dir: str | Path | None = None) -> Models:
    """Tokenizer, generator, text encoder and audio features for checkpoint_dir (cached per folder)."""
    root = Path(checkpoint_dir) if checkpoint_dir is not None else DEFAULT_CHECKPOINT_DIR
    key = str(root.resolve())
    with _LOCK:
        if key in _MODELS:
            return _MODELS[key]
        from pipeline.audio import load_audio_features
        from pipeline.motion.tokenizer import MotionTokenizer
        from pipeline.text.encoder import load_text_encoder

        for sub in (TOKENIZER_SUBDIR, GENERATOR_SUBDIR):
            if not (root / sub / "model.safetensors").exists():
                raise FileNotFoundError(f"missing checkpoint {root / sub}/model.safetensors; train it "
                                        f"(python -m pipeline.train.generator_text / generator_audio) or restore assets/")
        tokenizer = MotionTokenizer.from_pretrained(root / TOKENIZER_SUBDIR)
        generator = DualBranchGenerator.from_pretrained(root / GENERATOR_SUBDIR)
        cfg = generator.config
        text = load_text_encoder(None if cfg.text_encoder in ("default", "minilm") else cfg.text_encoder)
        audio = load_audio_features(None if cfg.audio_features in ("default", "librosa") else cfg.audio_features)
        if text.dim != cfg.text_dim:
            raise ValueError(f"the generator was trained on {cfg.text_dim}-d text embeddings but the text encoder "
                             f"gives {text.dim}-d ones; use the encoder named in its config ({cfg.text_encoder})")
        if audio.dim != cfg.audio_dim:
            raise ValueError(f"the generator expects {cfg.audio_dim}-d audio features but the extractor gives "
                             f"{audio.dim}-d ones; use the extractor named in its config ({cfg.audio_features})")
        trained = "audio" in getattr(generator, "loaded_branches", ("audio",))
        notes = [] if trained else ["the generator checkpoint has no trained audio branch: motion follows the "
                                    "prompts only"]
        if cfg.tokenizer_sha256:
            sha = tokenizer_sha256(root / TOKENIZER_SUBDIR)
            if sha != cfg.tokenizer_sha256:
                notes.append(f"the motion tokenizer in {root / TOKENIZER_SUBDIR} ({sha}) is not the one the generator "
                             f"was trained on ({cfg.tokenizer_sha256}); retrain the generator for it")
        models = Models(tokenizer, generator, text, audio, root, audio_branch_trained=trained, notes=notes)
        _MODELS[key] = models
        return models


# ------------------------------------------------------------------------------------ validation
def num_tokens_for(duration_s: float, num_motion_frames: int | None = None) -> int:
    frames = num_motion_frames if num_motion_frames is not None else math.ceil(duration_s * MOTION_FPS - 1e-9)
    return -(-int(frames) // TOKEN_DOWNSAMPLE)


def validate_segments(segments, duration_s: float) -> list[tuple[float, float, str | None]]:
    """Sorted, checked segments covering [0, duration]; blank prompts become None. ValueError otherwise."""
    if segments is None:
        return [(0.0, float(duration_s), None)]
    if isinstance(segments, (str, bytes)) or not hasattr(segments, "__iter__"):
        raise ValueError("segments must be a list of (start_s, end_s, prompt or None)")
    segs = []
    for i, seg in enumerate(segments):
        try:
            start, end, prompt = seg
            start, end = float(start), float(end)
        except (TypeError, ValueError):
            raise ValueError(f"segment {i + 1} must be (start_s, end_s, prompt or None), got {seg!r}") from None
        if not (math.isfinite(start) and math.isfinite(end)):
            raise ValueError(f"segment {i + 1} has a non-finite time ({start}, {end})")
        if end <= start:
            raise ValueError(f"segment {i + 1} ends ({end:.2f} s) before it starts ({start:.2f} s)")
        if prompt is not None and not isinstance(prompt, str):
            raise ValueError(f"segment {i + 1}: the prompt must be text or None, got {type(prompt).__name__}")
        if prompt is not None and not prompt.strip():
            prompt = None
        segs.append((start, end, prompt))
    if not segs:
        raise ValueError("no segments: give at least one (start_s, end_s, prompt or None) covering the audio")
    segs.sort(key=lambda s: s[0])
    tol = SEGMENT_TOLERANCE_S
    for i, (start, end, _) in enumerate(segs):
        if start < -tol or start > duration_s - tol:
            raise ValueError(f"segment {start:.2f}-{end:.2f} s starts outside the audio (0-{duration_s:.2f} s)")
        if end > duration_s + tol:
            raise ValueError(f"segment {start:.2f}-{end:.2f} s ends after the audio ({duration_s:.2f} s)")
    if segs[0][0] > tol:
        raise ValueError(f"segments do not cover the audio: nothing covers 0.00-{segs[0][0]:.2f} s")
    for (s0, e0, _), (s1, e1, _) in zip(segs, segs[1:]):
        if s1 < e0 - tol:
            raise ValueError(f"segments overlap: {s0:.2f}-{e0:.2f} s and {s1:.2f}-{e1:.2f} s")
        if s1 > e0 + tol:
            raise ValueError(f"segments do not cover the audio: nothing covers {e0:.2f}-{s1:.2f} s")
    if segs[-1][1] < duration_s - tol:
        raise ValueError(f"segments do not cover the audio: nothing covers {segs[-1][1]:.2f}-{duration_s:.2f} s")
    # snap the outer edges and the borders exactly
    out = []
    for i, (start, end, prompt) in enumerate(segs):
        start = 0.0 if i == 0 else out[-1][1]
        end = float(duration_s) if i == len(segs) - 1 else end
        out.append((start, end, prompt))
    return out


def token_prompts_for(segments, n_tokens: int) -> list[str | None]:
    """The segment prompt for each token (by the token's centre time)."""
    out = []
    for i in range(n_tokens):
        t = (i + 0.5) / TOKENS_PER_SECOND
        prompt = segments[-1][2]
        for start, end, p in segments:
            if start <= t < end:
                prompt = p
                break
        out.append(prompt)
    return out


def parse_locked(locked_tokens, n_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(values (N,), locked (N,) bool) from an int array with -1 for free positions or a {position: token} dict."""
    values = torch.zeros(n_tokens, dtype=torch.long)
    locked = torch.zeros(n_tokens, dtype=torch.bool)
    if locked_tokens is None:
        return values, locked
    if isinstance(locked_tokens, dict):
        items = locked_tokens.items()
    else:
        arr = np.asarray(locked_tokens)
        if arr.ndim != 1 or arr.shape[0] != n_tokens:
            raise ValueError(f"locked_tokens must have one entry per token ({n_tokens} for this audio), "
                             f"got shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer):
            if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
                raise ValueError("locked_tokens must be integers (-1 for free positions)")
            arr = arr.astype(np.int64)
        items = ((i, int(v)) for i, v in enumerate(arr) if v != -1)
    for pos, tok in items:
        pos, tok = int(pos), int(tok)
        if not 0 <= pos < n_tokens:
            raise ValueError(f"locked token position {pos} is outside 0..{n_tokens - 1}")
        if not 0 <= tok < CODEBOOK_SIZE:
            raise ValueError(f"locked token {tok} at position {pos} is not a codebook id (0..{CODEBOOK_SIZE - 1}) "
                             "or -1 (free)")
        values[pos] = tok
        locked[pos] = True
    return values, locked


# ------------------------------------------------------------------------------------ core
def understand_prompts(models: Models, token_prompts: list[str | None]) -> tuple[list[str | None], dict, list[str]]:
    """(the caption to condition each token on, {prompt: interpretation}, warnings).

    Unknown prompts are kept verbatim and reported in the warnings with the closest known actions.
    """
    if not models.understand_prompts:
        return list(token_prompts), {}, []
    from pipeline.text.understand import interpret_prompts

    unique = sorted({p for p in token_prompts if p is not None})
    if not unique:
        return list(token_prompts), {}, []
    from pipeline.text.understand import default_vocabulary

    vocabulary = default_vocabulary(Path(models.checkpoint_dir) / GENERATOR_SUBDIR)  # what this generator knows
    found = {it.prompt: it for it in interpret_prompts(unique, vocabulary)}
    warnings = [it.summary() for it in found.values() if not it.known]
    warnings += [f"prompt \"{_short(it.prompt)}\": {note}" for it in found.values() for note in it.notes]
    return [found[p].caption if p is not None else None for p in token_prompts], found, warnings


def canonical_sides(models: Models, token_prompts: list[str | None], captions: list[str | None],
                    understood: dict) -> tuple[list[str | None], torch.Tensor]:
    """(captions with one-arm actions moved to models.canonical_side, (N,) bool: the tokens whose
    motion is to be mirrored back). Only prompts understood as a library action whose side is a
    parameter (pipeline.text.understand.side_is_a_parameter) and asked on the other side move;
    their caption's side words are swapped (pipeline.data.build.mirror_caption)."""
    mirrored = torch.zeros(len(token_prompts), dtype=torch.bool)
    canonical = getattr(models, "canonical_side", None)
    if canonical not in ("left", "right") or not understood:
        return list(captions), mirrored
    from pipeline.data.build import mirror_caption
    from pipeline.text.understand import side_is_a_parameter

    other = "left" if canonical == "right" else "right"
    flip = {p for p, it in understood.items()
            if it.known and it.side == other and side_is_a_parameter(it.action)}
    out = list(captions)
    for i, p in enumerate(token_prompts):
        if p in flip:
            out[i] = mirror_caption(captions[i])
            mirrored[i] = True
    return out, mirrored


def _runs(mask: torch.Tensor) -> list[tuple[int, int]]:
    """[start, end) of each run of True in a 1-d bool mask."""
    m = np.concatenate([[False], mask.numpy().astype(bool), [False]])
    edges = np.flatnonzero(m[1:] != m[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def mirror_token_spans(models: Models, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Tokens whose positions in `mask` show the left-right mirror of what they showed: each run is
    decoded with MIRROR_MARGIN_TOKENS of context, its frames mirrored in the feature space
    (pipeline.motion.features.mirror_features), and encoded again; other positions are unchanged."""
    from pipeline.motion.features import mirror_features

    out = tokens.clone()
    n = len(tokens)
    for start, end in _runs(mask):
        a, b = max(0, start - MIRROR_MARGIN_TOKENS), min(n, end + MIRROR_MARGIN_TOKENS)
        with torch.inference_mode():
            feats = models.tokenizer.decode(tokens[None, a:b].long())[0].float().numpy()
            lo, hi = (start - a) * TOKEN_DOWNSAMPLE, (end - a) * TOKEN_DOWNSAMPLE
            feats[lo:hi] = mirror_features(feats[lo:hi])
            codes = models.tokenizer.encode(torch.from_numpy(feats)[None])[0]
        out[start:end] = codes[start - a:end - a].to(out.dtype)
    return out


def _near(mask: torch.Tensor, reach: int) -> torch.Tensor:
    """Positions within `reach` of a True position of `mask` (the generator's context of the free
    tokens: its windows are max_tokens long)."""
    idx = torch.nonzero(mask).flatten()
    out = torch.zeros_like(mask)
    if len(idx):
        pos = torch.arange(len(mask))
        out = (pos[:, None] - idx[None, :]).abs().min(dim=1).values <= reach
    return out


def _run_sided(models: Models, audio_feats: np.ndarray, captions: list[str | None], mirrored: torch.Tensor,
               values: torch.Tensor, locked: torch.Tensor, seed: int, guidance: float,
               steps: int) -> tuple[torch.Tensor, list[str]]:
    """_run, with the tokens in `mirrored` generated on the canonical side and mirrored back.
    Locked tokens there are given to the generator mirrored (as the canonical side's motion) and
    come back exactly as they were."""
    if not bool(mirrored.any()):
        return _run(models, audio_feats, captions, values, locked, seed, guidance, steps)
    context = values.clone()
    inside = locked & mirrored & _near(~locked, models.generator.config.max_tokens)
    if bool(inside.any()):
        context[inside] = mirror_token_spans(models, values, inside)[inside]
    tokens, warnings = _run(models, audio_feats, captions, context, locked, seed, guidance, steps)
    tokens = mirror_token_spans(models, tokens, mirrored & ~locked)
    tokens[locked] = values[locked]
    return tokens, warnings


def _encode_prompts(models: Models, token_prompts: list[str | None]) -> tuple[torch.Tensor, list[str]]:
    unique = sorted({p if p is not None else SPEECH_PROMPT for p in token_prompts})
    with _warnings.catch_warnings():  # truncation is reported in result.warnings instead
        _warnings.simplefilter("ignore")
        emb, notes = models.text_encoder.encode_with_info(unique)
    row = {p: i for i, p in enumerate(unique)}
    cond = emb.float()[[row[p if p is not None else SPEECH_PROMPT] for p in token_prompts]]
    warnings = [f"prompt \"{_short(p)}\": {note}" for p, note in zip(unique, notes) if note]
    return cond, warnings


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _decode_motion(models: Models, tokens: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    from pipeline.motion.features import features_to_joints_torch

    with torch.inference_mode():
        feats = models.tokenizer.decode(tokens[None].long())[0].float()
        joints = features_to_joints_torch(feats.double()).float()
    return feats.numpy(), joints.numpy()


def _run(models: Models, audio_feats: np.ndarray, token_prompts: list[str | None], values: torch.Tensor,
         locked: torch.Tensor, seed: int, guidance: float, steps: int) -> tuple[torch.Tensor, list[str]]:
    gen = models.generator
    n = len(token_prompts)
    cond, warnings = _encode_prompts(models, token_prompts)
    guided = torch.tensor([p is not None for p in token_prompts], dtype=torch.bool)
    rng = torch.Generator().manual_seed(int(seed))
    with torch.inference_mode():
        audio_tok = None
        if models.audio_branch_trained:
            audio_tok = gen.audio_tokens(torch.from_numpy(np.asarray(audio_feats, np.float32))[None])[0]
            if audio_tok.shape[0] < n:
                audio_tok = torch.cat([audio_tok, audio_tok[-1:].expand(n - audio_tok.shape[0], -1)])
            audio_tok = audio_tok[:n]
        opts = SamplingOptions(steps=int(steps), guidance=float(guidance),
                               audio_guidance=float(getattr(gen.config, "audio_guidance", 1.0)))
        tokens = decode_windowed(gen, values, locked, cond, audio_tok=audio_tok, guided=guided,
                                 options=opts, generator=rng)
    return tokens, warnings


def generate(audio, segments, locked_tokens=None, seed: int = 0, *, guidance: float = DEFAULT_GUIDANCE,
             steps: int = DEFAULT_STEPS, models: Models | None = None) -> GenerationResult:
    """Motion tokens, features and joints for `audio` with one prompt (or None) per segment.

    audio: a path, (sample_rate, array) or AudioClip; segments: [(start_s, end_s, prompt or None)]
    covering the audio (None = one audio-driven segment); locked_tokens: (N,) ints with -1 for free
    positions, or {position: token}. Raises AudioError (a ValueError) for unusable audio and
    ValueError for bad segments or locks; prompt truncation is reported in result.warnings.
    """
    from pipeline.audio import load_audio

    clip = load_audio(audio)  # an AudioClip is validated (silence, length) the same way as a file
    duration = float(clip.duration_s)
    segs = validate_segments(segments, duration)
    n = num_tokens_for(duration, clip.num_motion_frames)
    values, locked = parse_locked(locked_tokens, n)
    models = models or load_models()
    feats = models.audio_features(clip)
    prompts = token_prompts_for(segs, n)
    captions, understood, notes = understand_prompts(models, prompts)
    captions, mirrored = canonical_sides(models, prompts, captions, understood)
    tokens, warnings = _run_sided(models, feats, captions, mirrored, values, locked, seed, guidance, steps)
    warnings = list(models.notes) + notes + warnings
    features, joints = _decode_motion(models, tokens)
    return GenerationResult(tokens=tokens.numpy().astype(np.int64), features=features, joints=joints,
                            token_times=np.arange(n, dtype=np.float64) / TOKENS_PER_SECOND, segments=segs,
                            warnings=warnings, duration_s=duration, seed=int(seed), guidance=float(guidance),
                            steps=int(steps), token_prompts=prompts, audio_features=feats,
                            checkpoint_dir=models.checkpoint_dir, interpretations=understood)


def regenerate_span(previous: GenerationResult, start_token: int, end_token: int, seed: int,
                    prompt: str | None = None, *, guidance: float | None = None, steps: int | None = None,
                    models: Models | None = None) -> GenerationResult:
    """Resample tokens [start_token, end_token) of a previous result; every other token is kept exactly.

    prompt: a new prompt for the span (None keeps the span's segment prompts). The decoded features
    and joints change only near the span (the tokenizer decoder's receptive field); the root
    trajectory after the span follows the new root velocities.
    """
    n = previous.num_tokens
    start_token, end_token = int(start_token), int(end_token)
    if not 0 <= start_token < end_token <= n:
        raise ValueError(f"span {start_token}..{end_token} is not inside the {n} tokens (need 0 <= start < end <= {n})")
    if previous.audio_features is None:
        raise ValueError("this result carries no audio features; regenerate it with generate()")
    models = models or load_models(previous.checkpoint_dir)
    prompts = list(previous.token_prompts) or token_prompts_for(previous.segments, n)
    if prompt is not None and prompt.strip():
        prompts[start_token:end_token] = [prompt] * (end_token - start_token)
    values = torch.from_numpy(np.asarray(previous.tokens, np.int64)).clone()
    locked = torch.ones(n, dtype=torch.bool)
    locked[start_token:end_token] = False
    guidance = previous.guidance if guidance is None else guidance
    steps = previous.steps if steps is None else steps
    captions, understood, notes = understand_prompts(models, prompts)
    captions, mirrored = canonical_sides(models, prompts, captions, understood)
    tokens, warnings = _run_sided(models, previous.audio_features, captions, mirrored, values, locked, seed,
                                  guidance, steps)
    warnings = list(models.notes) + notes + warnings
    features, joints = _decode_motion(models, tokens)
    return replace(previous, tokens=tokens.numpy().astype(np.int64), features=features, joints=joints,
                   warnings=warnings, seed=int(seed), guidance=float(guidance), steps=int(steps),
                   token_prompts=prompts, interpretations=understood)


__all__ = ["CANONICAL_SIDE", "DEFAULT_CHECKPOINT_DIR", "GenerationResult", "Models", "canonical_sides", "generate",
           "load_models", "mirror_token_spans", "num_tokens_for", "parse_locked", "regenerate_span", "token_prompts_for", "understand_prompts", "validate_segments"]
