"""Synthetic co-speech pairs: rule-based gestures on real synthesised speech, the pair builder,
and the BEAT2 reader on a fixture in BEAT2's format."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from pipeline.constants import AUDIO_SAMPLE_RATE, MOTION_FPS
from pipeline.data.synthetic.cospeech import beat2, speech_synth
from pipeline.data.synthetic.cospeech.gesture_rules import cospeech_motion
from pipeline.motion.skeleton import JOINT_INDEX as J
from pipeline.motion.skeleton import bone_lengths

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (apt-get install espeak-ng festival festvox-us-slt-hts)")

WRISTS = [J["left_wrist"], J["right_wrist"]]


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    rng = np.random.default_rng(3)
    voice = speech_synth.VoiceSpec("espeak", "en-us+m3", 165, 50)
    clip = speech_synth.synthesize_clip(rng, "espeak", tmp_path_factory.mktemp("sp") / "a.wav",
                                        seconds=(7.0, 9.0), pool=speech_synth.PRESENTATION,
                                        voice=voice)
    return clip


@pytest.fixture(scope="module")
def motion(speech):
    return cospeech_motion(speech.samples, AUDIO_SAMPLE_RATE, np.random.default_rng(0),
                           style="animated")


@pytest.mark.slow
def test_motion_matches_audio_and_skeleton(speech, motion):
    n = math.ceil(speech.duration * MOTION_FPS)
    assert motion.joints.shape == (n, 22, 3)
    assert motion.pause_mask.shape == (n,)
    bones = bone_lengths(motion.joints)[:, 1:]
    assert np.abs(bones - bones[0]).max() < 1e-4
    feet = motion.joints[:, [J["left_ankle"], J["right_ankle"], J["left_foot"], J["right_foot"]]]
    assert np.abs(feet - feet[:1]).max() < 1e-4, "feet must stay planted"
    assert motion.joints[..., 1].min() > 0.0


@pytest.mark.slow
def test_stroke_apexes_on_beats(motion):
    strokes = motion.params["strokes"]
    assert len(strokes) >= 4
    assert np.allclose(motion.beat_times, [s["time"] for s in strokes])
    for s in strokes:
        assert abs(s["frame"] / MOTION_FPS - s["time"]) <= 0.5 / MOTION_FPS + 1e-9
        assert s["hands"], "every beat is stroked by at least one hand"
        wrist = motion.joints[:, J[f"{s['hands'][0]}_wrist"], 1]
        lo, hi = max(s["frame"] - 3, 0), min(s["frame"] + 4, len(wrist))
        apex = lo + int(np.argmin(wrist[lo:hi]))
        assert abs(apex - s["frame"]) <= 1, (s, apex)


@pytest.mark.slow
def test_velocity_minima_fall_on_the_strokes(motion):
    """The hand halts at each beat, so velocity-based beat detection (the BC metric) finds the strokes."""
    from pipeline.eval.beats import beat_consistency, motion_beats

    detected = motion_beats(motion.joints, MOTION_FPS)
    # Measured 0.80 for this clip (animated strokes can be 0.3 s apart, and neighbouring strokes
    # then blur one halt of the pair); the out-of-phase control below stays far lower.
    assert beat_consistency(detected, motion.beat_times) > 0.75
    shifted = motion.beat_times + 0.3     # the same rhythm out of phase scores far lower
    assert beat_consistency(detected, shifted) < 0.5


@pytest.mark.slow
def test_hands_rest_in_pauses(motion):
    """In every pause of 0.4 s or more the hands drop toward rest (short pauses squeeze the
    retraction and preparation, so the dip, not the mean, is what holds for every pause)."""
    from scipy.ndimage import label

    wrist = motion.joints[:, WRISTS, 1].max(axis=1)
    pauses, speaking = motion.pause_mask, ~motion.pause_mask
    assert pauses.any() and speaking.any()
    runs, n = label(pauses)
    long_runs = [np.flatnonzero(runs == k) for k in range(1, n + 1)]
    long_runs = [r for r in long_runs if len(r) >= 0.4 * MOTION_FPS]
    assert long_runs
    for frames in long_runs:
        assert wrist[frames].min() < wrist[speaking].mean() - 0.04, frames


@pytest.mark.slow
def test_head_nods_on_emphasis(motion):
    nods = [s for s in motion.params["strokes"] if s["nod"] > 0]
    assert nods
    head = motion.joints[:, J["head"]] - motion.joints[:, J["neck"]]
    pitch = np.degrees(np.arctan2(head[:, 2], head[:, 1]))  # + = head tipped forward
    at_nods = np.array([pitch[s["frame"]] for s in nods])
    before = np.array([pitch[max(s["frame"] - 4, 0)] for s in nods])
    assert (at_nods - before).mean() > 1.0


@pytest.mark.slow
def test_louder_speech_gives_bigger_gestures(speech):
    def amplitude(gain: float) -> float:
        m = cospeech_motion(speech.samples * gain, AUDIO_SAMPLE_RATE, np.random.default_rng(1),
                            style="calm")
        w = m.joints[:, WRISTS] - m.joints[:, [J["pelvis"]]]
        return float(np.abs(np.diff(w, axis=0)).sum() + w[..., 1].max())
    assert amplitude(1.0) > amplitude(0.2) * 1.15


@pytest.mark.slow
def test_prosody_beats_follow_syllables(motion):
    """Beats fall inside speech, not in pauses."""
    for s in motion.params["strokes"]:
        assert not motion.pause_mask[min(s["frame"], len(motion.pause_mask) - 1)]


def test_missing_engine_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(speech_synth.shutil, "which", lambda name: None)
    with pytest.raises(speech_synth.SpeechSynthError, match="apt-get install espeak-ng"):
        speech_synth.synthesize("hi", "en", 160, 50, "espeak", tmp_path / "x.wav")


def test_sentence_pool_and_voices():
    pool = speech_synth.sentences()
    assert len(pool) >= 200 and len(set(pool)) == len(pool)
    rng = np.random.default_rng(0)
    voices = {speech_synth.sample_voice(rng, "espeak").voice for _ in range(50)}
    assert len(voices) > 20


@pytest.mark.slow
@needs_espeak
def test_pairs_layout_and_determinism(tmp_path):
    from pipeline.data.synthetic.cospeech.pairs import build_pairs
    a = build_pairs(tmp_path / "a", 3, seed=5, engines=("espeak",), jobs=1)
    b = build_pairs(tmp_path / "b", 3, seed=5, engines=("espeak",), jobs=1)
    assert a["clips"] == b["clips"] == 3
    for root in (tmp_path / "a", tmp_path / "b"):
        for name in ("meta.csv", "train.txt", "val.txt", "test.txt", "all.txt"):
            assert (root / name).exists()
    ids = (tmp_path / "a" / "all.txt").read_text().split()
    assert len(ids) == 3
    assert (tmp_path / "a" / "meta.csv").read_text() == (tmp_path / "b" / "meta.csv").read_text()
    import soundfile as sf
    for cid in ids:
        joints = np.load(tmp_path / "a" / "new_joints" / f"{cid}.npy")
        feats = np.load(tmp_path / "a" / "new_joint_vecs" / f"{cid}.npy")
        info = sf.info(str(tmp_path / "a" / "wav" / f"{cid}.wav"))
        assert info.samplerate == AUDIO_SAMPLE_RATE
        assert feats.shape == (joints.shape[0], 263) and joints.shape[1:] == (22, 3)
        assert joints.shape[0] == math.ceil(info.frames / AUDIO_SAMPLE_RATE * MOTION_FPS)
        assert np.array_equal(joints, np.load(tmp_path / "b" / "new_joints" / f"{cid}.npy"))
        assert np.array_equal(feats, np.load(tmp_path / "b" / "new_joint_vecs" / f"{cid}.npy"))
        text = (tmp_path / "a" / "texts" / f"{cid}.txt").read_text()
        assert text.startswith("A person is giving a speech.#") and text.count("#") == 3
        assert (tmp_path / "a" / "transcripts" / f"{cid}.txt").read_text().strip()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("text2wave") is None, reason="festival is not installed "
                    "(apt-get install festival festvox-us-slt-hts)")
def test_festival_speaks(tmp_path):
    paths = speech_synth.synthesize_batch(["Hello there.", "Thank you very much."],
                                          speech_synth.FESTIVAL_VOICE, 160, 50, "festival", tmp_path)
    for p in paths:
        samples = speech_synth.read_wav_16k(p)
        assert 0.3 < len(samples) / AUDIO_SAMPLE_RATE < 4.0 and np.abs(samples).max() > 0.05


# ---------------------------------------------------------------------------------------------
# BEAT2

def test_beat2_fixture_round_trip(tmp_path):
    root = beat2.make_beat2_fixture(tmp_path / "beat2", n=2, seconds=2.0)
    items = list(beat2.read_beat2(root, "train"))
    assert len(items) == 1
    name, joints, wav, transcript = items[0]
    assert wav.exists() and transcript == "hello there everyone"
    source_frames = np.load(root / "smplxflame_30" / f"{name}.npz")["poses"].shape[0]  # 60
    assert joints.shape == ((source_frames - 1) * MOTION_FPS // beat2.BEAT2_FPS + 1, 22, 3)
    bones = bone_lengths(joints)[:, 1:]
    assert np.abs(bones - bone_lengths(_tpose())[1:]).max() < 1e-4
    assert abs(joints[..., 1].min() - 0.05) < 1e-6  # on the floor
    out = tmp_path / "converted"
    counts = beat2.convert_beat2(root, out)
    assert counts == {"train": 1, "val": 0, "test": 1}
    feats = np.load(out / "new_joint_vecs" / f"{name}.npy")
    assert feats.shape == (np.load(out / "new_joints" / f"{name}.npy").shape[0], 263)
    assert (out / "wav" / f"{name}.wav").exists() and (out / "train.txt").read_text().split() == [name]


def _tpose() -> np.ndarray:
    zero = np.zeros((1, 22, 3))
    return beat2.approximate_joints(zero, np.zeros((1, 3)))[0]


def test_beat2_tpose_and_global_orient():
    tpose = _tpose()
    for side, sign in (("left", 1.0), ("right", -1.0)):
        shoulder, wrist = tpose[J[f"{side}_shoulder"]], tpose[J[f"{side}_wrist"]]
        assert abs(wrist[1] - shoulder[1]) < 1e-6 and abs(wrist[2] - shoulder[2]) < 1e-6
        assert sign * (wrist[0] - shoulder[0]) > 0.45   # arm straight out sideways
    assert tpose[J["head"], 1] > tpose[J["pelvis"], 1] > tpose[J["left_ankle"], 1]
    turned = np.zeros((1, 22, 3))
    turned[0, 0] = [0.0, np.pi / 2, 0.0]    # global_orient: 90 degrees about +Y
    j = beat2.approximate_joints(turned, np.zeros((1, 3)))[0]
    pelvis = j[J["pelvis"]]
    # the left arm (+X) now points to -Z, the feet (forward +Z) now point to +X
    left = j[J["left_wrist"]] - pelvis
    assert left[2] < -0.6 and abs(left[0]) < 0.05
    toe = j[J["left_foot"]] - j[J["left_ankle"]]
    assert toe[0] > 0.08


def test_beat2_resampling_keeps_bones():
    rng = np.random.default_rng(0)
    poses = np.zeros((31, 165))
    poses[:, :66] = 0.3 * rng.standard_normal((1, 66)) + 0.02 * rng.standard_normal((31, 66))
    rv, tr = beat2.resample_poses(poses, np.zeros((31, 3)), 30.0)
    assert rv.shape == (21, 22, 3) and tr.shape == (21, 3)
    j = beat2.approximate_joints(rv, tr)
    bones = bone_lengths(j)[:, 1:]
    assert np.abs(bones - bones[0]).max() < 1e-9


def test_beat2_npz_with_pickled_objects_is_refused(tmp_path):
    from pipeline.data.synthetic.cospeech.beat2 import load_npz

    bad = tmp_path / "bad.npz"
    np.savez(bad, poses=np.zeros((4, 165)), trans=np.zeros((4, 3)),
             gender=np.array([{"not": "an array"}], dtype=object))
    with pytest.raises(ValueError, match="pickled"):
        load_npz(bad)


def test_join_pairs_prefixes_ids_and_keeps_held_out_sentences_out_of_train(tmp_path):
    from pipeline.data.synthetic.cospeech.join import join_pairs

    def folder(name, splits, sentences):
        root = tmp_path / name
        for sub in ("wav", "new_joint_vecs", "transcripts"):
            (root / sub).mkdir(parents=True)
        for cid, text in sentences.items():
            (root / "wav" / f"{cid}.wav").write_bytes(b"RIFF")
            (root / "new_joint_vecs" / f"{cid}.npy").write_bytes(b"x")
            (root / "transcripts" / f"{cid}.txt").write_text(text + "\n")
        for split, ids in {**splits, "all": sorted(sentences)}.items():
            (root / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
        return root

    held = folder("held", {"train": ["cs000000"], "val": ["cs000001"], "test": ["cs000002"]},
                  {"cs000000": "train words", "cs000001": "val words", "cs000002": "test words"})
    a = folder("s1", {"train": ["cs000000", "cs000001"], "val": ["cs000002"], "test": []},
               {"cs000000": "test words", "cs000001": "train words", "cs000002": "other"})
    b = folder("s2", {"train": ["cs000000"], "val": [], "test": ["cs000001"]},
               {"cs000000": "val words", "cs000001": "more"})
    summary = join_pairs(tmp_path / "out", [a, b], held_out=[held])
    out = tmp_path / "out"
    assert (out / "train.txt").read_text().split() == ["s1_cs000001"]
    assert (out / "val.txt").read_text().split() == ["s1_cs000002"]
    assert (out / "test.txt").read_text().split() == ["s2_cs000001"]
    assert summary["train_dropped_for_held_out_transcripts"] == 2 and summary["all"] == 5
    assert (out / "wav" / "s2_cs000001.wav").resolve() == (b / "wav" / "cs000001.wav").resolve()
