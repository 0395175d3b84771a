"""token2pose: motion tokens -> 2D whole-body poses fitted to the portrait's person.

The relation bank maps each token to real 2D pose windows (from template videos, or the
motion dataset for the shipped default); projection of the decoded 3D motion is the baseline and
the fallback. See DESIGN.md "Token2pose" and the paper's section 3.2.4.
"""

from pipeline.token2pose.api import Token2PoseResult, decode_tokens, poses_for_portrait, translate
from pipeline.token2pose.bank import RelationBank, RelationBankConfig, default_bank
from pipeline.token2pose.camera import WeakPerspectiveCamera, fit_camera
from pipeline.token2pose.from_motion import build_bank_from_motion_dataset
from pipeline.token2pose.from_videos import build_bank_from_videos
from pipeline.token2pose.lookup import LookupConfig, LookupResult, lookup
from pipeline.token2pose.mapping import mediapipe_to_smpl, smpl_to_body_feet

__all__ = ["LookupConfig", "LookupResult", "RelationBank", "RelationBankConfig", "Token2PoseResult",
           "WeakPerspectiveCamera", "build_bank_from_motion_dataset", "build_bank_from_videos", "decode_tokens",
           "default_bank", "fit_camera", "lookup", "mediapipe_to_smpl", "poses_for_portrait", "smpl_to_body_feet",
           "translate"]
