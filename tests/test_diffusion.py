"""The diffusion renderer on the CPU with a tiny random configuration (no weights, no GPU).

Runs the whole denoising loop of :class:`VersaAnimatorPipeline` (2 steps) and checks shapes,
seeding, overlapping windows, that zero-initialised additions leave the UNet unchanged, the
MimicMotion key mapping, the weights-folder check and the backend's availability report.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("diffusers")

from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler  # noqa: E402
from diffusers import UNetSpatioTemporalConditionModel  # noqa: E402

from pipeline.render.diffusion.checkpoint import load_mimicmotion_checkpoint  # noqa: E402
from pipeline.render.diffusion.conditions import (  # noqa: E402
    ConditionInjection, FrameConditions, VersaConditions, load_conditions, save_conditions,
    spatial_cross_attentions)
from pipeline.render.diffusion.pipeline import VersaAnimatorPipeline, blend_weights, sliding_windows  # noqa: E402
from pipeline.render.diffusion.pose_encoder import PoseInjection, PoseNet  # noqa: E402
from pipeline.render.diffusion.render import FrameLayout, audio_windows  # noqa: E402
from pipeline.render.diffusion.weights import validate_weights_dir  # noqa: E402

torch.set_num_threads(1)
H, W = 32, 48  # multiples of 8 (VAE) x 2 (UNet); latent grid 4 x 6
AUDIO_DIM = 6


def tiny_unet() -> UNetSpatioTemporalConditionModel:
    torch.manual_seed(0)
    return UNetSpatioTemporalConditionModel(
        in_channels=8, out_channels=4, block_out_channels=(32, 64),
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        layers_per_block=1, num_attention_heads=2, cross_attention_dim=32, addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=24, num_frames=6).eval()


def tiny_pipeline(conditions: bool = True, clip: bool = True, audio_dim: int = AUDIO_DIM) -> VersaAnimatorPipeline:
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    unet = tiny_unet()
    torch.manual_seed(1)
    vae = AutoencoderKLTemporalDecoder(block_out_channels=(32, 32, 32, 32), latent_channels=4, layers_per_block=1,
                                       down_block_types=("DownEncoderBlock2D",) * 4).eval()
    encoder = extractor = None
    if clip:
        encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
            hidden_size=32, intermediate_size=37, projection_dim=32, num_hidden_layers=1, num_attention_heads=2,
            image_size=32, patch_size=8)).eval()
        extractor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    scheduler = EulerDiscreteScheduler(prediction_type="v_prediction", timestep_spacing="leading",
                                       use_karras_sigmas=True, sigma_min=0.002, sigma_max=700.0,
                                       steps_offset=1, interpolation_type="linear")
    cond = None
    if conditions:
        cond = VersaConditions.for_unet(unet, audio_dim=audio_dim, audio_window=3, identity_dim=16,
                                        identity_tokens=2, token_dim=16, heads=2, head_dim=8, face_size=16).eval()
    pose = PoseNet(noise_latent_channels=32).eval()
    return VersaAnimatorPipeline(vae=vae, unet=unet, scheduler=scheduler, pose_net=pose, conditions=cond,
                                 image_encoder=encoder, feature_extractor=extractor)


def inputs(frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, FrameConditions]:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    poses = np.zeros((frames, H, W, 3), np.uint8)
    for t in range(frames):
        poses[t, 8:24, 4 + 3 * t % 40:8 + 3 * t % 40] = (255, 85, 0)  # a moving limb
    cond = FrameConditions(audio=rng.normal(size=(frames, 3, AUDIO_DIM)).astype(np.float32),
                           mouth=rng.uniform(size=frames).astype(np.float32),
                           blink=np.zeros(frames, np.float32), expression=np.zeros(frames, np.int64),
                           face=image[:16, :16])
    return image, poses, cond


def run(pipe: VersaAnimatorPipeline, frames: int, seed: int, **kw) -> np.ndarray:
    image, poses, cond = inputs(frames)
    g = torch.Generator().manual_seed(seed)
    return pipe(image, poses, cond if pipe.conditions is not None else None, num_inference_steps=2,
                generator=g, **kw).frames


@pytest.fixture(scope="module")
def pipe() -> VersaAnimatorPipeline:
    return tiny_pipeline()


def test_denoising_loop_shape_and_seed(pipe: VersaAnimatorPipeline) -> None:
    seen = []
    a = run(pipe, 4, seed=3, window=4, overlap=1, callback=lambda d, t: seen.append((d, t)))
    assert a.shape == (4, H, W, 3) and a.dtype == np.float32
    assert np.isfinite(a).all() and a.min() >= 0.0 and a.max() <= 1.0
    assert seen[-1] == (2, 2)  # 2 steps x 1 window
    b = run(pipe, 4, seed=3, window=4, overlap=1)
    c = run(pipe, 4, seed=4, window=4, overlap=1)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-4


def test_overlapping_windows_cover_a_long_clip(pipe: VersaAnimatorPipeline) -> None:
    wins = sliding_windows(10, 6, 2)
    assert [(w.start, w.stop) for w in wins] == [(0, 6), (4, 10)]
    weights = blend_weights(wins)
    total = torch.zeros(10)
    for w, win in zip(weights, wins):
        total[list(win)] += w
    assert torch.all(total > 0)
    assert torch.allclose(weights[0][-2:], torch.tensor([2 / 3, 1 / 3]))
    assert [(w.start, w.stop) for w in sliding_windows(11, 6, 2)] == [(0, 6), (4, 10), (5, 11)]
    out = run(pipe, 10, seed=0, window=6, overlap=2, output_type="uint8", guidance=1.0)
    assert out.shape == (10, H, W, 3) and out.dtype == np.uint8


def test_zero_init_additions_leave_the_unet_unchanged() -> None:
    unet = tiny_unet()
    cond = VersaConditions.for_unet(unet, audio_dim=AUDIO_DIM, audio_window=3, identity_dim=16, identity_tokens=2,
                                    token_dim=16, heads=2, head_dim=8, face_size=16).eval()
    pose_net = PoseNet(noise_latent_channels=32).eval()
    # one per spatial transformer block: down 1, mid 1, up 2 (layers_per_block + 1)
    assert len(cond.layers) == len(spatial_cross_attentions(unet)) == 4
    assert not cond.is_trained() and not pose_net.is_trained()
    torch.manual_seed(5)
    x = torch.randn(1, 3, 8, 4, 6)
    args = dict(encoder_hidden_states=torch.randn(1, 1, 32), added_time_ids=torch.tensor([[6.0, 127.0, 0.02]]),
                return_dict=False)
    tokens = cond.tokens(torch.randn(1, 16), torch.randn(3, 3, AUDIO_DIM), torch.rand(3), torch.rand(3),
                         torch.zeros(3, dtype=torch.long))
    feats = pose_net(torch.rand(3, 3, 32, 48) * 2 - 1)
    with torch.no_grad():
        base = unet(x, 10.0, **args)[0]
        pose_hook, cond_hook = PoseInjection(unet), ConditionInjection(unet, cond)
        with pose_hook.features(feats), cond_hook.tokens(tokens):
            same = unet(x, 10.0, **args)[0]
        torch.testing.assert_close(same, base, rtol=0, atol=0)
        torch.nn.init.normal_(pose_net.final_proj.weight, std=0.1)
        with pose_hook.features(pose_net(torch.rand(3, 3, 32, 48) * 2 - 1)):
            posed = unet(x, 10.0, **args)[0]
        assert (posed - base).abs().max() > 1e-3
        torch.nn.init.normal_(cond.layers[0].to_out.weight, std=0.1)
        assert cond.is_trained()
        with cond_hook.tokens(tokens):
            conditioned = unet(x, 10.0, **args)[0]
        assert (conditioned - base).abs().max() > 1e-3
        pose_hook.remove()
        cond_hook.remove()
        torch.testing.assert_close(unet(x, 10.0, **args)[0], base, rtol=0, atol=0)


def test_mimicmotion_checkpoint_keys_load(tmp_path) -> None:
    unet, pose = tiny_unet(), PoseNet(noise_latent_channels=32)
    # MimicMotion's PoseNet, written out from its definition: (index, out, in, kernel) per conv
    convs = [(0, 3, 3, 3), (2, 16, 3, 4), (4, 16, 16, 3), (6, 32, 16, 4), (8, 32, 32, 3), (10, 64, 32, 4),
             (12, 64, 64, 3), (14, 128, 64, 3)]
    fake = {}
    for i, cout, cin, k in convs:
        fake[f"pose_net.conv_layers.{i}.weight"] = torch.full((cout, cin, k, k), 0.5)
        fake[f"pose_net.conv_layers.{i}.bias"] = torch.full((cout,), 0.5)
    fake["pose_net.final_proj.weight"] = torch.full((32, 128, 1, 1), 0.5)
    fake["pose_net.final_proj.bias"] = torch.full((32,), 0.5)
    fake["pose_net.scale"] = torch.tensor([2.0])
    fake["unet.conv_in.weight"] = torch.full_like(unet.conv_in.weight, 0.25)
    fake["unet.not_a_layer.weight"] = torch.zeros(2)
    fake["optimizer_step"] = torch.tensor(3)
    path = tmp_path / "MimicMotion_1-1.pth"
    torch.save({"state_dict": fake}, path)
    report = load_mimicmotion_checkpoint(path, unet, pose)
    assert report.loaded == {"pose_net": 19, "unet": 1} and not report.missing["pose_net"]
    assert report.unexpected["unet"] == ["not_a_layer.weight"] and report.ignored == ["optimizer_step"]
    assert "conv_in.bias" in report.missing["unet"]
    assert torch.all(pose.final_proj.weight == 0.5) and torch.all(unet.conv_in.weight == 0.25)
    assert pose.is_trained()


def test_weights_folder_check_and_round_trip(tmp_path) -> None:
    ok, reason = validate_weights_dir(tmp_path / "nowhere")
    assert not ok and "does not exist" in reason
    empty = tmp_path / "empty"
    empty.mkdir()
    ok, reason = validate_weights_dir(empty)
    assert not ok and "empty" in reason and "unet/" in reason and "MimicMotion_1-1.pth" in reason
    pipe = tiny_pipeline()
    folder = pipe.save_pretrained(tmp_path / "w")
    ok, reason = validate_weights_dir(folder)
    assert not ok and "no trained pose weights" in reason  # the pose encoder is still zero
    torch.nn.init.normal_(pipe.pose_net.final_proj.weight, std=0.1)
    folder = pipe.save_pretrained(tmp_path / "w")
    ok, reason = validate_weights_dir(folder)  # trained pose_net.* travel in the condition file
    assert ok and "untrained" in reason, reason
    loaded = VersaAnimatorPipeline.from_pretrained(folder)
    assert loaded.conditions.config == pipe.conditions.config and loaded.pose_net.is_trained()
    for a, b in zip(loaded.unet.state_dict().values(), pipe.unet.state_dict().values()):
        torch.testing.assert_close(a, b)
    (folder / "vae" / "diffusion_pytorch_model.safetensors").unlink()
    ok, reason = validate_weights_dir(folder)
    assert not ok and "vae/ has no weights" in reason
    module, _ = load_conditions(save_conditions(pipe.conditions, tmp_path / "c.safetensors"), pipe.unet)
    assert module is not None and module.config == pipe.conditions.config


def test_render_helpers() -> None:
    layout = FrameLayout.for_image(300, 400, 512)
    assert (layout.content_w, layout.content_h) == (384, 512) and (layout.frame_w, layout.frame_h) == (384, 512)
    layout = FrameLayout.for_image(500, 400, 512)
    assert layout.frame_w % 64 == 0 and layout.frame_h % 64 == 0 and layout.content_h == 410
    frame = layout.pad(np.full((layout.content_h, layout.content_w, 3), 7, np.uint8))
    assert frame.shape == (layout.frame_h, layout.frame_w, 3) and (layout.crop(frame) == 7).all()
    feats = np.arange(10, dtype=np.float32)[:, None]
    win = audio_windows(feats, num_frames=5, fps=25.0, window=3)
    assert win.shape == (5, 3, 1)
    np.testing.assert_allclose(win[:, 1, 0], np.arange(5) * 20 / 25, rtol=1e-6)


def test_backend_reports_why_it_is_unavailable() -> None:
    from pipeline.render.backends import available_backends

    ok, reason = available_backends()["diffusion"]
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert ok is False and "CUDA" in reason and "weights" in reason


def test_render_frames_from_portrait_poses_and_speech() -> None:
    """The backend path end to end on the tiny model: layout, composite maps, audio conditions."""
    from pipeline.render.diffusion.render import render_frames
    from tests.test_render_warp import hold, silent_then_loud, synthetic_portrait

    pipe = tiny_pipeline(clip=False, audio_dim=48)  # LibrosaFeatures: 40 mels + 8
    torch.nn.init.normal_(pipe.conditions.layers[0].to_out.weight, std=0.1)  # "trained": composite maps + audio
    portrait = synthetic_portrait(96)
    seen = []
    frames = list(render_frames(portrait, hold(portrait, 3, fps=25.0), silent_then_loud(0.2), resolution=64, seed=1,
                                steps=2, window=16, overlap=4, pipe=pipe, progress=lambda d, t: seen.append(d)))
    assert len(frames) == 3 and all(f.shape == (64, 64, 3) and f.dtype == np.uint8 for f in frames)
    assert seen == [1, 2]
