"""VersaAnimatorPipeline: pose- and face-conditioned stable video diffusion (paper section 3.3).

SVD image-to-video as MimicMotion uses it: the portrait's VAE latent is concatenated to the noisy
latents, its CLIP image embedding is the cross-attention context, the added time ids carry
fps / motion bucket / noise augmentation. Two additions go in through hooks on diffusers' own
UNet: the pose encoder's features after conv_in (:mod:`.pose_encoder`) and one extra
cross-attention per spatial block for audio / expression / blink against the face identity
(:mod:`.conditions`). Videos longer than a window are denoised as overlapping windows whose
predictions are blended with linear weights at every step.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import AutoencoderKLTemporalDecoder, DiffusionPipeline, EulerDiscreteScheduler
from diffusers import UNetSpatioTemporalConditionModel
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor

from pipeline.jobs import Cancel, RenderCancelled, is_cancelled

from .checkpoint import LoadReport, load_mimicmotion_checkpoint
from .conditions import ConditionInjection, FrameConditions, VersaConditions, load_conditions, save_conditions
from .pose_encoder import PoseInjection, PoseNet
from .windows import sliding_windows
from .weights import (CONDITIONS_FILE, MODEL_INDEX, mimicmotion_checkpoint, svd_problems, validate_weights_dir,
                      weight_variant)

logger = logging.getLogger(__name__)

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
StepCallback = Callable[[int, int], None]
"""Called as ``callback(done, total)`` after every UNet window call."""


@dataclass
class VersaAnimatorOutput(BaseOutput):
    """frames: (F, H, W, 3) float32 in [0, 1] ("np"), uint8 ("uint8"), a (F, 3, H, W) tensor in
    [0, 1] ("pt") or the final latents (1, F, 4, h, w) ("latent")."""

    frames: np.ndarray | torch.Tensor


def blend_weights(windows: Sequence[range]) -> list[torch.Tensor]:
    """Per-window frame weights: 1 inside, linear ramps over the frames shared with a neighbour,
    so that the normalised weights cross-fade from one window to the next."""
    out = []
    for k, win in enumerate(windows):
        w = torch.ones(len(win))
        if k > 0:
            ov = max(0, windows[k - 1].stop - win.start)
            w[:ov] = torch.minimum(w[:ov], torch.arange(1, ov + 1) / (ov + 1))
        if k < len(windows) - 1:
            ov = max(0, win.stop - windows[k + 1].start)
            if ov:
                w[-ov:] = torch.minimum(w[-ov:], torch.arange(ov, 0, -1) / (ov + 1))
        out.append(w)
    return out


def _to_pixels(image: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(H, W, 3) / (F, H, W, 3) uint8 or an (N, 3, H, W) tensor in [-1, 1] -> (N, 3, H, W) float in [-1, 1]."""
    if isinstance(image, torch.Tensor):
        return image if image.ndim == 4 else image[None]
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ValueError(f"images must be uint8 RGB, got {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"images must be (H, W, 3) or (F, H, W, 3) RGB, got {arr.shape}")
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def _resize_antialiased(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=True)


class VersaAnimatorPipeline(DiffusionPipeline):
    """Portrait + pose maps + face conditions -> video frames (see the module docstring)."""

    model_cpu_offload_seq = "image_encoder->unet->vae"
    _exclude_from_cpu_offload = ["pose_net", "conditions"]
    """Both are small and their layers are called from hooks inside the UNet (not through their own
    forward, which is where accelerate's offload hook sits): they stay on the GPU."""
    cfg_batch = True
    """Classifier-free guidance as one UNet batch of two (False: two passes, half the activations)."""

    def __init__(self, vae: AutoencoderKLTemporalDecoder, unet: UNetSpatioTemporalConditionModel,
                 scheduler: EulerDiscreteScheduler, pose_net: PoseNet, conditions: VersaConditions | None = None,
                 image_encoder=None, feature_extractor=None) -> None:
        super().__init__()
        self.register_modules(vae=vae, unet=unet, scheduler=scheduler, pose_net=pose_net, conditions=conditions,
                              image_encoder=image_encoder, feature_extractor=feature_extractor)
        self.vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1)
        if pose_net.config.noise_latent_channels != unet.config.block_out_channels[0]:
            raise ValueError(f"the pose encoder gives {pose_net.config.noise_latent_channels} channels, the UNet's "
                             f"first block has {unet.config.block_out_channels[0]}")
        self._pose_hook = PoseInjection(unet)
        self._condition_hook = ConditionInjection(unet, conditions) if conditions is not None else None
        if conditions is not None and conditions.config.identity_source == "clip" and image_encoder is None:
            raise ValueError("the condition module takes its identity from CLIP but there is no image encoder")

    # ------------------------------------------------------------------------------------- loading

    @classmethod
    def from_pretrained(cls, folder: str | Path, *, torch_dtype: torch.dtype | None = None,
                        vae_dtype: torch.dtype = torch.float32, mimicmotion: str | Path | None = None,
                        conditions_file: str | Path | None = None, **_: object) -> "VersaAnimatorPipeline":
        """Load the local folder layout of README.md (SVD-xt + MimicMotion + condition layers).

        ``mimicmotion`` / ``conditions_file`` name those files when they are not in ``folder``
        (weights from the Hugging Face cache: the SVD snapshot and MimicMotion's are two folders).
        The VAE stays in ``vae_dtype`` (float32 by default: SVD's VAE overflows in fp16).
        Untrained parts (no condition file) are zero-initialised and a warning says so.
        """
        # transformers is a lazy module: the CLIP classes (seconds to import) load on this first access
        from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

        folder = Path(folder)
        if mimicmotion is None:
            ok, reason = validate_weights_dir(folder)
            if not ok:
                raise FileNotFoundError(reason)
        else:
            problems = svd_problems(folder)
            if not Path(mimicmotion).is_file():
                problems.append(f"MimicMotion's checkpoint {mimicmotion} does not exist")
            if problems:
                raise FileNotFoundError(f"the diffusion weights are incomplete: {'; '.join(problems)}")
        dtype = torch_dtype or torch.float32
        unet = UNetSpatioTemporalConditionModel.from_pretrained(folder, subfolder="unet", torch_dtype=dtype,
                                                                variant=weight_variant(folder / "unet"))
        vae = AutoencoderKLTemporalDecoder.from_pretrained(folder, subfolder="vae", torch_dtype=vae_dtype,
                                                           variant=weight_variant(folder / "vae"))
        image_encoder = CLIPVisionModelWithProjection.from_pretrained(
            folder / "image_encoder", dtype=dtype, variant=weight_variant(folder / "image_encoder"))
        feature_extractor = CLIPImageProcessor.from_pretrained(folder / "feature_extractor")
        scheduler = EulerDiscreteScheduler.from_pretrained(folder, subfolder="scheduler")
        pose_net = PoseNet(noise_latent_channels=unet.config.block_out_channels[0])
        mm = Path(mimicmotion) if mimicmotion is not None else mimicmotion_checkpoint(folder)
        if mm is not None:
            report: LoadReport = load_mimicmotion_checkpoint(mm, unet, pose_net)
            logger.info("MimicMotion checkpoint %s: %s", mm.name, report.summary())
        conditions = None
        cond_path = Path(conditions_file) if conditions_file is not None else folder / CONDITIONS_FILE
        if cond_path.is_file():
            conditions, notes = load_conditions(cond_path, unet, pose_net)
            for note in notes:
                logger.info(note)
        if conditions is None:
            conditions = VersaConditions.for_unet(unet)
            logger.warning("no trained %s in %s: the audio / expression / blink layers are zero-initialised and "
                           "have no effect", CONDITIONS_FILE, folder)
        pipe = cls(vae=vae, unet=unet, scheduler=scheduler, pose_net=pose_net.to(dtype),
                   conditions=conditions.to(dtype), image_encoder=image_encoder, feature_extractor=feature_extractor)
        return pipe

    def save_pretrained(self, folder: str | Path, **_: object) -> Path:
        """Write the layout :meth:`from_pretrained` reads (pose encoder and conditions in the condition file)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.unet.save_pretrained(folder / "unet")
        self.vae.save_pretrained(folder / "vae")
        self.scheduler.save_pretrained(folder / "scheduler")
        index = {"_class_name": "StableVideoDiffusionPipeline", "_versa_class": type(self).__name__,
                 "unet": ["diffusers", "UNetSpatioTemporalConditionModel"],
                 "vae": ["diffusers", "AutoencoderKLTemporalDecoder"],
                 "scheduler": ["diffusers", "EulerDiscreteScheduler"],
                 "image_encoder": ["transformers", "CLIPVisionModelWithProjection"],
                 "feature_extractor": ["transformers", "CLIPImageProcessor"]}
        if self.image_encoder is not None:
            self.image_encoder.save_pretrained(folder / "image_encoder")
        if self.feature_extractor is not None:
            self.feature_extractor.save_pretrained(folder / "feature_extractor")
        (folder / MODEL_INDEX).write_text(json.dumps(index, indent=2))
        if self.conditions is not None:
            save_conditions(self.conditions, folder / CONDITIONS_FILE, pose_net=self.pose_net)
        return folder

    # ------------------------------------------------------------------------------------ encoders

    def _clip_embed(self, pixels: torch.Tensor) -> torch.Tensor:
        """CLIP image embeddings (N, D) of images (N, 3, H, W) in [-1, 1], SVD's preprocessing."""
        enc = self.image_encoder
        size = int(enc.config.image_size)
        x = (_resize_antialiased(pixels.float(), (size, size)) + 1.0) / 2.0
        mean = getattr(self.feature_extractor, "image_mean", None) or CLIP_MEAN
        std = getattr(self.feature_extractor, "image_std", None) or CLIP_STD
        x = (x - torch.tensor(mean, device=x.device)[:, None, None]) / torch.tensor(std, device=x.device)[:, None, None]
        return enc(x.to(device=self._execution_device, dtype=enc.dtype)).image_embeds

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        """The cross-attention context (1, 1, cross_attention_dim); zeros without an image encoder."""
        if self.image_encoder is None:
            return torch.zeros(1, 1, self.unet.config.cross_attention_dim, device=self._execution_device,
                               dtype=self.unet.dtype)
        return self._clip_embed(pixels)[:, None].to(self.unet.dtype)

    def encode_conditions(self, conditions: FrameConditions) -> torch.Tensor:
        """Condition tokens (F, L, token_dim) for every frame."""
        mod, device = self.conditions, self._execution_device
        dtype = next(mod.parameters()).dtype
        face = _to_pixels(conditions.face)
        if mod.config.identity_source == "clip":
            identity = self._clip_embed(face)
        else:
            size = mod.config.face_size
            identity = mod.identity(_resize_antialiased(face, (size, size)).to(device, dtype))
        as_t = lambda a, t=dtype: torch.as_tensor(np.asarray(a), device=device).to(t)  # noqa: E731
        return mod.tokens(identity.to(dtype), as_t(conditions.audio), as_t(conditions.mouth), as_t(conditions.blink),
                          as_t(conditions.expression, torch.long))

    def decode_latents(self, latents: torch.Tensor, chunk: int = 8) -> torch.Tensor:
        """(1, F, 4, h, w) latents -> (F, 3, H, W) float32 in [0, 1] on the CPU, ``chunk`` frames at a time."""
        flat = latents.flatten(0, 1) / self.vae.config.scaling_factor
        frames = []
        for i in range(0, flat.shape[0], chunk):
            part = flat[i:i + chunk].to(self.vae.dtype)
            frames.append(self.vae.decode(part, num_frames=part.shape[0]).sample.float().cpu())
        return (torch.cat(frames) / 2.0 + 0.5).clamp(0.0, 1.0)

    # ------------------------------------------------------------------------------------ sampling

    @torch.no_grad()
    def __call__(self, image: np.ndarray | torch.Tensor, pose_maps: np.ndarray | torch.Tensor,
                 conditions: FrameConditions | None = None, num_frames: int | None = None,
                 num_inference_steps: int = 25, guidance: float = 2.0, generator: torch.Generator | None = None,
                 window: int = 16, overlap: int = 4, output_type: str = "np", fps: int = 7,
                 motion_bucket_id: int = 127, noise_aug_strength: float = 0.02, decode_chunk_size: int = 8,
                 callback: StepCallback | None = None, cancel: Cancel = None) -> VersaAnimatorOutput:
        """Animate ``image`` (H, W, 3) uint8 along ``pose_maps`` (F, H, W, 3) uint8 (DWPose or composite).

        ``conditions`` (one entry per frame) drive the extra face layers; None leaves them out.
        ``guidance`` > 1 runs classifier-free guidance against zero image / pose / condition
        inputs. ``fps``, ``motion_bucket_id``, ``noise_aug_strength`` are SVD's added time ids
        (MimicMotion: 7 fps, 127, 0.02). H and W must be multiples of the VAE's factor (8) so
        that the pose features fall on the latent grid, and of 64 for the real UNet's downsampling.
        """
        device = self._execution_device
        dtype = self.unet.dtype
        pixels = _to_pixels(image)
        # pose maps stay uint8 on the host and are converted one window at a time (a long video's
        # maps in float on the GPU would take gigabytes)
        poses = pose_maps if isinstance(pose_maps, torch.Tensor) else np.asarray(pose_maps)
        pose_hw = tuple(poses.shape[-2:]) if isinstance(poses, torch.Tensor) else tuple(poses.shape[1:3])
        num_frames = int(num_frames or poses.shape[0])
        if poses.shape[0] != num_frames:
            raise ValueError(f"{poses.shape[0]} pose maps for {num_frames} frames")
        if pose_hw != tuple(pixels.shape[-2:]):
            raise ValueError(f"pose maps {pose_hw} and image {tuple(pixels.shape[-2:])} differ in size")
        height, width = pixels.shape[-2:]
        if height % self.vae_scale_factor or width % self.vae_scale_factor:
            raise ValueError(f"height and width must be multiples of {self.vae_scale_factor}, got {height}x{width}")
        if conditions is not None and len(conditions) != num_frames:
            raise ValueError(f"{len(conditions)} condition frames for {num_frames} frames")
        if conditions is not None and self.conditions is None:
            raise ValueError("face conditions were given but the pipeline has no condition module")
        do_cfg = guidance > 1.0

        # 1. image conditioning: CLIP context, noise-augmented VAE latent of the portrait
        embeds = self.encode_image(pixels)
        noisy = pixels.to(device) + noise_aug_strength * randn_tensor(pixels.shape, generator=generator,
                                                                      device=device, dtype=pixels.dtype)
        image_latents = self.vae.encode(noisy.to(self.vae.dtype)).latent_dist.mode().to(dtype)
        image_latents = image_latents[:, None].expand(1, num_frames, *image_latents.shape[1:])
        add_ids = torch.tensor([[fps - 1, motion_bucket_id, noise_aug_strength]], device=device, dtype=dtype)
        tokens = self.encode_conditions(conditions) if conditions is not None else None
        if do_cfg:
            embeds = torch.cat([torch.zeros_like(embeds), embeds])
            add_ids = torch.cat([add_ids, add_ids])

        # 2. noise and schedule
        self.scheduler.set_timesteps(num_inference_steps, device=device)
        timesteps = self.scheduler.timesteps
        latent_shape = (1, num_frames, self.vae.config.latent_channels, height // self.vae_scale_factor,
                        width // self.vae_scale_factor)
        # latents and the blended predictions stay float32 (the UNet runs in its own dtype)
        latents = randn_tensor(latent_shape, generator=generator, device=device, dtype=torch.float32)
        latents = latents * self.scheduler.init_noise_sigma

        windows = sliding_windows(num_frames, window, overlap)
        weights = [w.to(device) for w in blend_weights(windows)]
        total, done = len(timesteps) * len(windows), 0
        for t in timesteps:
            pred = torch.zeros_like(latents)
            count = torch.zeros(num_frames, device=device)
            for win, w in zip(windows, weights):
                if is_cancelled(cancel):
                    raise RenderCancelled("render cancelled")
                idx = list(win)
                out = self._predict(latents[:, idx], image_latents[:, idx], _to_pixels(poses[idx]), t, embeds, add_ids,
                                    tokens[idx] if tokens is not None else None, do_cfg, guidance)
                pred[:, idx] += out.float() * w[None, :, None, None, None]
                count[idx] += w
                done += 1
                if callback is not None:
                    callback(done, total)
            pred = pred / count[None, :, None, None, None]
            # Euler's step is affine in the prediction, so blending predictions equals blending the
            # windows' stepped latents with the same weights
            latents = self.scheduler.step(pred, t, latents, generator=generator, return_dict=False)[0]

        self.maybe_free_model_hooks()
        if output_type == "latent":
            return VersaAnimatorOutput(frames=latents)
        frames = self.decode_latents(latents, decode_chunk_size)
        if output_type == "pt":
            return VersaAnimatorOutput(frames=frames)
        arr = frames.permute(0, 2, 3, 1).numpy()
        if output_type == "uint8":
            return VersaAnimatorOutput(frames=np.round(arr * 255.0).astype(np.uint8))
        if output_type == "np":
            return VersaAnimatorOutput(frames=arr)
        raise ValueError(f"unknown output_type {output_type!r}: use 'np', 'uint8', 'pt' or 'latent'")

    def _unet(self, x: torch.Tensor, t: torch.Tensor, embeds: torch.Tensor, add_ids: torch.Tensor,
              pose_feats: torch.Tensor, tokens: torch.Tensor | None) -> torch.Tensor:
        """One UNet call with the pose features and condition tokens hooked in."""
        with self._pose_hook.features(pose_feats):
            if self._condition_hook is not None:
                with self._condition_hook.tokens(tokens):
                    return self.unet(x, t, encoder_hidden_states=embeds, added_time_ids=add_ids, return_dict=False)[0]
            return self.unet(x, t, encoder_hidden_states=embeds, added_time_ids=add_ids, return_dict=False)[0]

    def _predict(self, latents: torch.Tensor, image_latents: torch.Tensor, poses: torch.Tensor, t: torch.Tensor,
                 embeds: torch.Tensor, add_ids: torch.Tensor, tokens: torch.Tensor | None, do_cfg: bool,
                 guidance: float) -> torch.Tensor:
        """The guided model output for one window (1, n, 4, h, w).

        With ``self.cfg_batch`` False the unconditional and conditional passes run one after the
        other instead of as one batch of two: the same result, half the UNet activation memory.
        """
        device, dtype = latents.device, self.unet.dtype
        pose_feats = self.pose_net(poses.to(device, self.pose_net.dtype)).to(dtype)
        x = self.scheduler.scale_model_input(latents, t).to(dtype)
        cond = image_latents
        if not do_cfg:
            return self._unet(torch.cat([x, cond], dim=2), t, embeds, add_ids, pose_feats, tokens)
        zero_tokens = torch.zeros_like(tokens) if tokens is not None else None
        if getattr(self, "cfg_batch", True):
            out = self._unet(torch.cat([torch.cat([x, torch.zeros_like(cond)], dim=2), torch.cat([x, cond], dim=2)]),
                             t, embeds, add_ids, torch.cat([torch.zeros_like(pose_feats), pose_feats]),
                             torch.cat([zero_tokens, tokens]) if tokens is not None else None)
            uncond, cond_out = out.chunk(2)
        else:
            e_un, e_c = embeds.chunk(2)
            ids_un, ids_c = add_ids.chunk(2)
            uncond = self._unet(torch.cat([x, torch.zeros_like(cond)], dim=2), t, e_un, ids_un,
                                torch.zeros_like(pose_feats), zero_tokens)
            cond_out = self._unet(torch.cat([x, cond], dim=2), t, e_c, ids_c, pose_feats, tokens)
        return uncond + guidance * (cond_out - uncond)
