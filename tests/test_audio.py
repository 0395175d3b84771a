"""pipeline.audio: loading every format, errors users hit, features at the motion rate, pauses."""

from __future__ import annotations

import math
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.paths import shared_data_dir
from pipeline.audio import (
    MAX_AUDIO_SECONDS,
    MIN_AUDIO_SECONDS,
    AudioClip,
    AudioError,
    load_audio,
    speech_activity,
    suggest_segments,
)
from pipeline.audio.io import ffmpeg_exe
from pipeline.constants import AUDIO_SAMPLE_RATE, MOTION_FPS, TOKEN_DOWNSAMPLE

JFK = shared_data_dir() / "speech" / "jfk.flac"
PHRASES = ["The quick brown fox jumps over the lazy dog",
           "Today I want to talk about the weather",
           "Thank you all for coming here tonight"]
GAP_S = 0.6


def _tone(seconds: float, sr: int, hz: float = 220.0, channels: int = 1) -> np.ndarray:
    """A voiced-like harmonic tone with a slow loudness swell; (N,) or (N, channels)."""
    t = np.arange(int(round(seconds * sr))) / sr
    y = sum(np.sin(2 * np.pi * hz * k * t) / k for k in range(1, 5))
    y = 0.25 * y * (0.6 + 0.4 * np.sin(2 * np.pi * 1.5 * t))
    y = y.astype(np.float32)
    return np.stack([y] * channels, axis=1) if channels > 1 else y


def _dominant_hz(clip: AudioClip) -> float:
    spec = np.abs(np.fft.rfft(clip.samples * np.hanning(clip.num_samples)))
    return float(np.argmax(spec) * clip.sample_rate / clip.num_samples)


@pytest.fixture(scope="module")
def espeak(tmp_path_factory) -> Path:
    """A folder with one espeak-ng recording per phrase (skips without espeak-ng)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("needs espeak-ng to synthesise speech (apt-get install espeak-ng; CI installs it)")
    folder = tmp_path_factory.mktemp("espeak")
    for i, text in enumerate(PHRASES):
        subprocess.run([exe, "-w", str(folder / f"p{i}.wav"), text], check=True, capture_output=True)
    return folder


@pytest.fixture(scope="module")
def three_phrases(espeak) -> tuple[AudioClip, list[float]]:
    """The three phrases, trimmed, joined by GAP_S of silence; returns the clip and gap centres."""
    import librosa

    parts, centres, t = [], [], 0.0
    for i in range(len(PHRASES)):
        y, _ = librosa.effects.trim(load_audio(espeak / f"p{i}.wav").samples, top_db=40)
        parts.append(y)
        t += len(y) / AUDIO_SAMPLE_RATE
        if i < len(PHRASES) - 1:
            parts.append(np.zeros(int(GAP_S * AUDIO_SAMPLE_RATE), np.float32))
            centres.append(t + GAP_S / 2)
            t += GAP_S
    return AudioClip(np.concatenate(parts)), centres


@pytest.fixture(scope="module")
def jfk() -> Path:
    if not JFK.is_file():
        pytest.skip(f"needs the project's speech sample at {JFK}")
    return JFK


# ---------------------------------------------------------------------------------------------
# loading


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3", "m4a"])
def test_decodes_formats_to_16k_mono(tmp_path, fmt):
    sr, seconds = 44100, 2.0
    src = tmp_path / "src.wav"
    sf.write(src, _tone(seconds, sr, channels=2), sr, subtype="PCM_16")
    path = tmp_path / f"speech.{fmt}"
    if fmt in ("wav", "flac", "ogg"):
        data, _ = sf.read(src)
        sf.write(path, data, sr, format=fmt.upper(), **({"subtype": "VORBIS"} if fmt == "ogg" else {}))
    else:
        codec = ["-c:a", "libmp3lame", "-b:a", "128k"] if fmt == "mp3" else ["-c:a", "aac", "-b:a", "128k"]
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(src), *codec, str(path)], check=True)
    clip = load_audio(path)
    assert clip.sample_rate == AUDIO_SAMPLE_RATE
    assert clip.samples.dtype == np.float32 and clip.samples.ndim == 1
    assert clip.path == path
    assert abs(clip.duration_s - seconds) < 0.06, clip.duration_s  # codec padding at most a frame or two
    assert abs(_dominant_hz(clip) - 220.0) < 3.0  # really decoded, not a placeholder
    assert 0.05 < float(np.sqrt(np.mean(clip.samples ** 2))) < 0.5


def test_stereo_44k_file_becomes_16k_mono_with_exact_duration(tmp_path):
    sr = 44100
    left = _tone(1.5, sr)
    stereo = np.stack([left, np.zeros_like(left)], axis=1)  # downmix = mean of channels
    sf.write(tmp_path / "s.wav", stereo, sr, subtype="FLOAT")
    clip = load_audio(tmp_path / "s.wav")
    assert clip.num_samples == int(1.5 * AUDIO_SAMPLE_RATE)
    assert clip.duration_s == pytest.approx(1.5)
    assert clip.source_sample_rate == sr
    assert clip.num_motion_frames == math.ceil(1.5 * MOTION_FPS)
    rms_mono = np.sqrt(np.mean(clip.samples ** 2))
    assert rms_mono == pytest.approx(0.5 * np.sqrt(np.mean(left ** 2)), rel=0.02)


def test_real_recording_jfk(jfk):
    info = sf.info(jfk)
    clip = load_audio(jfk)
    assert info.samplerate == 44100 and info.channels == 2
    assert clip.duration_s == pytest.approx(info.frames / info.samplerate, abs=1e-3)
    assert clip.sample_rate == AUDIO_SAMPLE_RATE and clip.samples.ndim == 1


@pytest.mark.parametrize("dtype", ["int16", "int32", "uint8", "float64"])
def test_gradio_tuple_input(dtype):
    sr = 22050
    y = _tone(1.0, sr, channels=2)
    if dtype == "int16":
        data = (y * 32767).astype(np.int16)
    elif dtype == "int32":
        data = (y * 2 ** 31).astype(np.int32)
    elif dtype == "uint8":
        data = (y * 127 + 128).astype(np.uint8)
    else:
        data = y.astype(np.float64)
    clip = load_audio((sr, data))
    assert clip.num_samples == AUDIO_SAMPLE_RATE and clip.path is None
    assert np.abs(clip.samples).max() <= 1.0
    assert np.sqrt(np.mean(clip.samples ** 2)) == pytest.approx(np.sqrt(np.mean(y[:, 0] ** 2)), rel=0.05)
    assert abs(_dominant_hz(clip) - 220.0) < 3.0


def test_error_file_not_found(tmp_path):
    with pytest.raises(AudioError, match="not found"):
        load_audio(tmp_path / "nothing.wav")


@pytest.mark.parametrize("suffix", [".wav", ".mp3", ".m4a"])
def test_error_corrupt_file_names_the_file(tmp_path, suffix):
    path = tmp_path / f"broken{suffix}"
    path.write_bytes(b"RIFF this is not audio at all " + bytes(range(256)) * 8)
    with pytest.raises(AudioError) as exc:
        load_audio(path)
    assert path.name in str(exc.value) and "cannot read" in str(exc.value)


def test_error_not_audio_text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is a text file\n" * 20)
    with pytest.raises(AudioError, match="notes.txt"):
        load_audio(path)


def test_error_empty(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        load_audio(tmp_path / "empty.wav")
    sf.write(tmp_path / "nosamples.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError, match="empty"):
        load_audio(tmp_path / "nosamples.wav")
    with pytest.raises(AudioError, match="empty"):
        load_audio((16000, np.zeros(0, np.int16)))


def test_error_silent(tmp_path):
    with pytest.raises(AudioError, match="silent.*check the microphone"):
        load_audio((16000, np.zeros(32000, np.int16)))
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "hiss.wav", (rng.standard_normal(32000) * 1e-4).astype(np.float32), 16000)
    with pytest.raises(AudioError, match="silent"):
        load_audio(tmp_path / "hiss.wav")


def test_error_too_short():
    with pytest.raises(AudioError, match=f"too short.*{MIN_AUDIO_SECONDS}"):
        load_audio((16000, _tone(0.3, 16000)))
    assert load_audio((16000, _tone(MIN_AUDIO_SECONDS, 16000))).duration_s == pytest.approx(MIN_AUDIO_SECONDS)


def test_error_too_long(tmp_path):
    sr = 1000  # keeps the 10-minute arrays small
    long = _tone(MAX_AUDIO_SECONDS + 5, sr, hz=100.0)
    with pytest.raises(AudioError, match="limit is 10 minutes"):
        load_audio((sr, long))
    sf.write(tmp_path / "long.wav", long, sr, subtype="PCM_16")
    with pytest.raises(AudioError, match="long.wav.*limit is 10 minutes"):
        load_audio(tmp_path / "long.wav")


def test_error_bad_input_type():
    with pytest.raises(AudioError):
        load_audio(12345)  # type: ignore[arg-type]
    with pytest.raises(AudioError, match="NaN"):
        load_audio((16000, np.full(16000, np.nan, np.float32)))


# ---------------------------------------------------------------------------------------------
# features


def test_librosa_features_shape_rate_determinism():
    from pipeline.audio.features import LibrosaFeatures, load_audio_features

    fx = load_audio_features(None)
    assert isinstance(fx, LibrosaFeatures) and fx.frame_rate == MOTION_FPS
    for seconds in (0.5, 1.23, 3.0):
        clip = load_audio((16000, _tone(seconds, 16000)))
        feats = fx(clip)
        assert feats.shape == (math.ceil(seconds * MOTION_FPS), fx.dim)
        assert feats.dtype == np.float32 and np.all(np.isfinite(feats))
        np.testing.assert_array_equal(feats, fx(clip))


def test_librosa_features_describe_the_sound():
    from pipeline.audio.features import LibrosaFeatures

    fx = LibrosaFeatures()
    n = fx.n_mels
    tone = fx(load_audio((16000, _tone(2.0, 16000, hz=200.0))))
    mid = tone[5:-5]
    assert np.median(mid[:, n + 6]) > 0.9  # voiced
    assert np.median(2 ** mid[:, n + 5] * 150) == pytest.approx(200.0, rel=0.03)  # pitch
    quiet = fx(load_audio((16000, 0.05 * _tone(2.0, 16000, hz=200.0))))
    np.testing.assert_allclose(quiet, tone, atol=0.05)  # microphone gain does not matter
    y = np.concatenate([_tone(1.0, 16000), np.zeros(16000, np.float32)])
    y[16000:] = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 1e-4
    f = fx(load_audio((16000, y)))
    assert f[5:15, n].mean() > f[25:35, n].mean() + 2.0  # loudness: sound vs near-silence
    assert f[25:35, n + 6].max() == 0.0  # nothing voiced in the hiss


def test_librosa_features_speed():
    from pipeline.audio.features import LibrosaFeatures

    fx = LibrosaFeatures()
    rng = np.random.default_rng(0)
    y = _tone(60.0, 16000) * (rng.random(60 * 16000) > 0.0001) + 0.01 * rng.standard_normal(60 * 16000)
    clip = load_audio((16000, y.astype(np.float32)))
    fx(load_audio((16000, _tone(1.0, 16000))))  # warm the mel filterbank
    t0 = time.perf_counter()
    feats = fx(clip)
    elapsed = time.perf_counter() - t0
    assert feats.shape[0] == 60 * MOTION_FPS
    assert elapsed < 5.0, f"60 s of audio took {elapsed:.2f} s"  # ~0.2 s on 2 idle cores


def test_speech_features_jfk(jfk):
    from pipeline.audio.features import LibrosaFeatures

    clip = load_audio(jfk)
    feats = LibrosaFeatures()(clip)
    assert feats.shape == (clip.num_motion_frames, LibrosaFeatures().dim)
    assert 0.2 < feats[:, -2].mean() < 0.9  # speech is partly voiced
    assert np.all(np.abs(feats) < 20)


def _tiny_wav2vec2(folder: Path, layers: int) -> Path:
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    torch.manual_seed(0)
    cfg = Wav2Vec2Config(hidden_size=16, num_hidden_layers=layers, num_attention_heads=2, intermediate_size=32,
                         conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
                         vocab_size=8)
    Wav2Vec2Model(cfg).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("layers,used", [(3, 3), (13, 12)])
def test_wav2vec2_features_tiny_model(tmp_path, monkeypatch, layers, used):
    from pipeline.audio.features import Wav2Vec2Features, load_audio_features

    folder = _tiny_wav2vec2(tmp_path / "w2v", layers)
    monkeypatch.setenv("VERSA_AUDIO_ENCODER", str(folder))
    fx = load_audio_features()
    assert isinstance(fx, Wav2Vec2Features)
    assert fx.num_layers == used and fx.dim == 16 * used
    clip = load_audio((16000, _tone(1.3, 16000)))
    feats = fx(clip)
    assert feats.shape == (math.ceil(1.3 * MOTION_FPS), fx.dim) and feats.dtype == np.float32
    np.testing.assert_allclose(feats, fx(clip), atol=1e-5)
    if layers == 3:  # windows for long audio give the same rows count
        long_clip = load_audio((16000, _tone(7.1, 16000)))
        fx.chunk_seconds, fx.context_seconds = 2.0, 0.5
        assert fx(long_clip).shape == (long_clip.num_motion_frames, fx.dim)


def test_wav2vec2_missing_files(tmp_path):
    from pipeline.audio.features import Wav2Vec2Features, load_audio_features

    with pytest.raises(FileNotFoundError, match="config.json.*model.safetensors"):
        Wav2Vec2Features(tmp_path)
    with pytest.raises(ValueError, match="unknown audio encoder"):
        load_audio_features(str(tmp_path / "missing"))


def test_temporal_block_downsamples_to_token_rate():
    import torch

    from pipeline.motion.generator.temporal_block import AudioTemporalBlock

    torch.manual_seed(0)
    block = AudioTemporalBlock(in_dim=48, d_model=32, hidden=64).eval()
    for frames in (1, 4, 5, 37, 100):
        out = block(torch.randn(2, frames, 48))
        assert out.shape == (2, math.ceil(frames / TOKEN_DOWNSAMPLE), 32)
    x = torch.randn(1, 5, 48)
    padded = torch.cat([x, x[:, -1:].expand(1, 3, 48)], dim=1)  # edge replicate to a multiple of 4
    torch.testing.assert_close(block(x), block(padded))
    x = torch.randn(2, 12, 48, requires_grad=True)
    block.train()(x).sum().backward()
    assert x.grad is not None and all(p.grad is not None for p in block.parameters())


# ---------------------------------------------------------------------------------------------
# pauses


@pytest.mark.slow
def test_segments_cut_in_the_middle_of_inserted_silences(three_phrases):
    clip, centres = three_phrases
    segments = suggest_segments(clip)
    assert segments[0][0] == 0.0 and segments[-1][1] == pytest.approx(clip.duration_s)
    assert all(a[1] == b[0] for a, b in zip(segments[:-1], segments[1:]))
    cuts = [s[1] for s in segments[:-1]]
    assert len(cuts) == len(centres), segments
    for cut, centre in zip(cuts, centres):
        assert abs(cut - centre) < 0.15, (cut, centre)


@pytest.mark.slow
def test_speech_activity_marks_silences(three_phrases):
    clip, centres = three_phrases
    active = speech_activity(clip)
    assert active.shape == (clip.num_motion_frames,) and active.dtype == bool
    for c in centres:
        k = int(c * MOTION_FPS)
        assert not active[k - 3: k + 4].any()  # the middle of each inserted pause is silent
    assert active.mean() > 0.6


def test_long_stretch_split_at_quietest_point_and_short_segments_merged():
    sr = 16000
    y = _tone(20.0, sr)
    t = np.arange(len(y)) / sr
    y *= np.where(np.abs(t - 6.0) < 0.1, 0.05, 1.0).astype(np.float32)  # a dip, not a pause
    clip = load_audio((sr, y))
    segments = suggest_segments(clip, max_segment_s=8.0)
    assert all(b - a <= 8.0 + 1e-6 for a, b in segments)
    assert any(abs(b - 6.0) < 0.15 for _, b in segments[:-1])  # the quietest point wins
    # pauses every 0.7 s: boundaries thinned so no segment is under min_segment_s
    parts = []
    for _ in range(8):
        parts += [_tone(0.4, sr), np.zeros(int(0.3 * sr), np.float32)]
    clip = load_audio((sr, np.concatenate(parts)))
    segments = suggest_segments(clip, min_segment_s=1.0)
    assert all(b - a >= 1.0 - 1e-6 for a, b in segments) and len(segments) >= 3
    assert segments[-1][1] == pytest.approx(clip.duration_s)


def test_segments_real_speech(jfk):
    clip = load_audio(jfk)
    segments = suggest_segments(clip)
    assert len(segments) >= 2
    assert segments[0][0] == 0.0 and segments[-1][1] == pytest.approx(clip.duration_s)
    assert all(1.0 - 1e-6 <= b - a <= 8.0 + 1e-6 for a, b in segments)
    active = speech_activity(clip)
    for _, b in segments[:-1]:
        assert not active[min(int(round(b * MOTION_FPS)), len(active) - 1)]  # cuts fall in pauses


def test_segment_arguments_checked():
    clip = load_audio((16000, _tone(3.0, 16000)))
    with pytest.raises(ValueError):
        suggest_segments(clip, min_segment_s=5.0, max_segment_s=2.0)
    assert suggest_segments(load_audio((16000, _tone(0.8, 16000)))) == [(0.0, pytest.approx(0.8))]


@pytest.mark.parametrize("num_samples", [187359, 187360, 187361, 187362, 16003, 8001])
def test_features_for_lengths_where_trackers_disagree_by_a_frame(num_samples):
    """Regression: 187359 samples (11.71 s) gave the pitch tracker one frame more than the STFT."""
    from pipeline.audio import AudioClip, LibrosaFeatures

    rng = np.random.default_rng(num_samples)
    t = np.arange(num_samples) / AUDIO_SAMPLE_RATE
    samples = (0.3 * np.sin(2 * np.pi * 140 * t) + 0.01 * rng.normal(size=num_samples)).astype(np.float32)
    clip = AudioClip(samples=samples, sample_rate=AUDIO_SAMPLE_RATE, duration_s=num_samples / AUDIO_SAMPLE_RATE)
    feats = LibrosaFeatures()(clip)
    assert feats.shape == (clip.num_motion_frames, LibrosaFeatures().dim)
    assert np.isfinite(feats).all()
