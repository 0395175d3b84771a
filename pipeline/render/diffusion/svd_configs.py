"""The published model configurations of stable-video-diffusion-img2vid-xt(-1-1), and a tiny one.

Speed and memory do not depend on the weight values, so the GPU benchmark builds the real
architectures with random weights from these configs (no download); the tiny configuration runs
the same code on a CPU in seconds (tests, ``benchmarks/diffusion_gpu.py --tiny``). The values are
those of the repository's ``unet/config.json``, ``vae/config.json``,
``image_encoder/config.json`` and ``scheduler/scheduler_config.json``; the parameter counts they
give (UNet 1.52 B, VAE 97.7 M, CLIP ViT-H/14 632 M) are checked by the tests.
"""

from __future__ import annotations

from typing import Any

SVD_XT_UNET: dict[str, Any] = dict(
    sample_size=96, in_channels=8, out_channels=4,
    down_block_types=("CrossAttnDownBlockSpatioTemporal", "CrossAttnDownBlockSpatioTemporal",
                      "CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
    up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal",
                    "CrossAttnUpBlockSpatioTemporal"),
    block_out_channels=(320, 640, 1280, 1280), addition_time_embed_dim=256,
    projection_class_embeddings_input_dim=768, layers_per_block=2, cross_attention_dim=1024,
    transformer_layers_per_block=1, num_attention_heads=(5, 10, 20, 20), num_frames=25)
SVD_XT_VAE: dict[str, Any] = dict(
    in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
    block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4, sample_size=768,
    scaling_factor=0.18215, force_upcast=True)
SVD_XT_IMAGE_ENCODER: dict[str, Any] = dict(
    hidden_size=1280, intermediate_size=5120, projection_dim=1024, num_hidden_layers=32, num_attention_heads=16,
    image_size=224, patch_size=14, hidden_act="gelu", layer_norm_eps=1e-5, num_channels=3)
SVD_XT_SCHEDULER: dict[str, Any] = dict(
    num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
    prediction_type="v_prediction", interpolation_type="linear", use_karras_sigmas=True, sigma_min=0.002,
    sigma_max=700.0, timestep_spacing="leading", timestep_type="continuous", steps_offset=1)

TINY_UNET: dict[str, Any] = dict(
    in_channels=8, out_channels=4, block_out_channels=(32, 64),
    down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
    up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
    layers_per_block=1, num_attention_heads=2, cross_attention_dim=32, addition_time_embed_dim=8,
    projection_class_embeddings_input_dim=24, num_frames=6)
TINY_VAE: dict[str, Any] = dict(block_out_channels=(32, 32, 32, 32), latent_channels=4, layers_per_block=1,
                                down_block_types=("DownEncoderBlock2D",) * 4, force_upcast=True)
TINY_IMAGE_ENCODER: dict[str, Any] = dict(hidden_size=32, intermediate_size=37, projection_dim=32,
                                          num_hidden_layers=1, num_attention_heads=2, image_size=224, patch_size=56)
"""224 px like the real one: diffusers' SVD pipeline always resizes the image to 224 for CLIP."""

CONFIGS = {"svd-xt": (SVD_XT_UNET, SVD_XT_VAE, SVD_XT_IMAGE_ENCODER),
           "tiny": (TINY_UNET, TINY_VAE, TINY_IMAGE_ENCODER)}


def build_models(size: str = "svd-xt", device: str = "cpu", unet_dtype: Any = None, seed: int = 0) -> dict[str, Any]:
    """Random-weight models of one configuration: unet, vae (float32), image_encoder, feature_extractor,
    scheduler. Built directly on ``device`` (no 6 GB float32 copy of the UNet on the host)."""
    import torch
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, UNetSpatioTemporalConditionModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    if size not in CONFIGS:
        raise ValueError(f"size must be one of {', '.join(CONFIGS)}, got {size!r}")
    unet_cfg, vae_cfg, clip_cfg = CONFIGS[size]
    torch.manual_seed(seed)
    with torch.device(device):
        unet = UNetSpatioTemporalConditionModel(**unet_cfg).eval()
        vae = AutoencoderKLTemporalDecoder(**vae_cfg).eval()
        encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(**clip_cfg)).eval()
    if unet_dtype is not None:
        unet, encoder = unet.to(unet_dtype), encoder.to(unet_dtype)
    extractor = CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224})
    scheduler = EulerDiscreteScheduler(**SVD_XT_SCHEDULER)
    return {"unet": unet, "vae": vae, "image_encoder": encoder, "feature_extractor": extractor,
            "scheduler": scheduler}


def parameter_counts(size: str = "svd-xt") -> dict[str, int]:
    """Parameters of each model of a configuration, counted on the meta device (no memory used)."""
    import torch
    from diffusers import AutoencoderKLTemporalDecoder, UNetSpatioTemporalConditionModel
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    unet_cfg, vae_cfg, clip_cfg = CONFIGS[size]
    with torch.device("meta"):
        models = {"unet": UNetSpatioTemporalConditionModel(**unet_cfg),
                  "vae": AutoencoderKLTemporalDecoder(**vae_cfg),
                  "image_encoder": CLIPVisionModelWithProjection(CLIPVisionConfig(**clip_cfg))}
    return {k: sum(p.numel() for p in m.parameters()) for k, m in models.items()}
