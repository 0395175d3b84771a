"""pipeline/pretrained.py: one save/load convention for the shipped models.

The shipped folders still load (and give the same weights after a save/load round trip), every
model has the same from_pretrained / save_pretrained signature, and a config.json that does not
describe the model is refused with a clear error instead of being silently trimmed.
"""

from __future__ import annotations

import inspect
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.eval.action_classifier import ActionClassifier, ActionClassifierConfig
from pipeline.eval.retrieval import RetrievalConfig, RetrievalEvaluator
from pipeline.motion.generator import DualBranchGenerator, GeneratorConfig
from pipeline.motion.tokenizer import MotionTokenizer, TokenizerConfig
from pipeline.pretrained import ConfigError, PretrainedConfig, PretrainedModel
from pipeline.render.diffusion.conditions import (
    ConditionConfig, VersaConditions, load_conditions, save_conditions,
)
from pipeline.token2pose.bank import RelationBank, RelationBankConfig

ASSETS = Path(__file__).resolve().parents[1] / "assets"
SHIPPED = {
    MotionTokenizer: ASSETS / "checkpoints" / "motion_tokenizer",
    DualBranchGenerator: ASSETS / "checkpoints" / "motion_generator",
    ActionClassifier: ASSETS / "checkpoints" / "action_classifier",
    RetrievalEvaluator: ASSETS / "checkpoints" / "retrieval_evaluator",
    RelationBank: ASSETS / "relation_bank",
}
MODELS = [*SHIPPED, VersaConditions]


def _tiny_conditions() -> VersaConditions:
    torch.manual_seed(0)
    module = VersaConditions(ConditionConfig(query_dims=[32, 64], audio_dim=6, audio_window=3, identity_dim=16,
                                             identity_tokens=2, token_dim=32, heads=2, head_dim=8, face_size=16))
    with torch.no_grad():
        for layer in module.layers:          # a trained-looking output projection, not zeros
            layer.to_out.weight.normal_()
    return module


def _arrays(model) -> dict[str, np.ndarray]:
    if isinstance(model, RelationBank):
        return {k: getattr(model, k) for k in ("codes", "keypoints", "scores", "source", "window")}
    return {k: v.numpy() for k, v in model.state_dict().items()}


def _assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert a[k].tobytes() == b[k].tobytes(), f"{k} differs"


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_every_model_has_one_signature_and_a_config(cls):
    assert issubclass(cls, PretrainedModel) and issubclass(cls.config_class, PretrainedConfig)
    load = inspect.signature(cls.from_pretrained).parameters
    assert list(load)[0] == "path" and load["device"].default == "cpu"
    assert load["device"].kind is inspect.Parameter.KEYWORD_ONLY
    save = inspect.signature(cls.save_pretrained).parameters
    assert list(save)[:2] == ["self", "path"]
    assert all(p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD)
               for p in list(save.values())[2:])


@pytest.mark.parametrize("cls", list(SHIPPED), ids=lambda c: c.__name__)
def test_shipped_folder_loads_and_survives_a_save_load_round_trip(cls, tmp_path):
    shipped = cls.from_pretrained(SHIPPED[cls])
    assert isinstance(shipped.config, cls.config_class)
    assert shipped.cfg is shipped.config                          # the old name still answers
    if isinstance(shipped, torch.nn.Module):
        assert not shipped.training
    folder = shipped.save_pretrained(tmp_path / "again")
    saved = json.loads((folder / "config.json").read_text())
    assert saved["model_type"] == cls.config_class.model_type
    again = cls.from_pretrained(folder)
    assert again.config == shipped.config
    _assert_same(_arrays(shipped), _arrays(again))


def test_shipped_weights_load_as_stored():
    """The float32 checkpoints come back exactly as their safetensors files hold them."""
    from safetensors.torch import load_file

    for cls in (MotionTokenizer, ActionClassifier, RetrievalEvaluator):
        raw = load_file(str(SHIPPED[cls] / "model.safetensors"))
        state = cls.from_pretrained(SHIPPED[cls]).state_dict()
        for k, v in raw.items():
            assert torch.equal(state[k], v.to(state[k].dtype)), (cls.__name__, k)


def test_generator_and_tokenizer_outputs_after_a_round_trip(tmp_path):
    gen = DualBranchGenerator.from_pretrained(SHIPPED[DualBranchGenerator])
    gen2 = DualBranchGenerator.from_pretrained(gen.save_pretrained(tmp_path / "g"))
    tok = MotionTokenizer.from_pretrained(SHIPPED[MotionTokenizer])
    tok2 = MotionTokenizer.from_pretrained(tok.save_pretrained(tmp_path / "t"))
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 512, (2, 12), generator=g)
    cond = torch.randn(2, 12, gen.config.text_dim, generator=g)
    audio = torch.randn(2, 48, gen.config.audio_dim, generator=g)
    feats = torch.randn(1, 40, tok.config.feature_dim, generator=g)
    with torch.no_grad():
        assert torch.equal(gen(tokens, cond, audio_tok=gen.audio_tokens(audio)),
                           gen2(tokens, cond, audio_tok=gen2.audio_tokens(audio)))
        assert torch.equal(tok.decode(tok.encode(feats)), tok2.decode(tok2.encode(feats)))


def test_condition_layers_round_trip_as_a_folder_and_as_one_file(tmp_path):
    module = _tiny_conditions()
    again = VersaConditions.from_pretrained(module.save_pretrained(tmp_path / "c"))
    assert again.config == module.config and again.is_trained()
    _assert_same(_arrays(module), _arrays(again))
    single, _ = load_conditions(save_conditions(module, tmp_path / "c.safetensors"))
    assert single.config == module.config
    _assert_same(_arrays(module), _arrays(single))


# ------------------------------------------------------------------------------------- strictness

def _copy_with_config(src: Path, dst: Path, **changes) -> Path:
    shutil.copytree(src, dst)
    data = json.loads((dst / "config.json").read_text())
    data.update(changes)
    (dst / "config.json").write_text(json.dumps(data))
    return dst


@pytest.mark.parametrize("cls", list(SHIPPED), ids=lambda c: c.__name__)
def test_an_unknown_key_in_a_shipped_config_is_refused_by_name(cls, tmp_path):
    folder = _copy_with_config(SHIPPED[cls], tmp_path / "m", hidden_sizes=[1, 2])
    with pytest.raises(ConfigError) as err:
        cls.from_pretrained(folder)
    message = str(err.value)
    assert "unknown" in message and "hidden_sizes" in message and str(folder / "config.json") in message


def test_a_config_of_another_model_or_of_the_wrong_type_is_refused(tmp_path):
    folder = _copy_with_config(SHIPPED[ActionClassifier], tmp_path / "clf", model_type="motion_generator")
    with pytest.raises(ConfigError, match="'motion_generator' model, not of a 'action_classifier'"):
        ActionClassifier.from_pretrained(folder)
    with pytest.raises(ConfigError, match=r"GeneratorConfig.d_model should be int, got '256'"):
        GeneratorConfig.from_dict({"d_model": "256"})
    with pytest.raises(ConfigError, match="TokenizerConfig.activation"):
        TokenizerConfig.from_dict({"activation": 1})
    with pytest.raises(ConfigError, match="unknown activation"):          # the config's own checks
        TokenizerConfig.from_dict({"activation": "tanh"})
    with pytest.raises(ConfigError, match="a RetrievalConfig is a JSON object"):
        RetrievalConfig.from_dict([1, 2])


def test_a_required_key_that_is_missing_is_named():
    @dataclass
    class Needs(PretrainedConfig):
        width: int
        depth: int = 2

    assert Needs.from_dict({"width": 3}) == Needs(3)
    with pytest.raises(ConfigError, match="Needs lacks the required keys: width"):
        Needs.from_dict({"depth": 1})


def test_round_trips_keep_tuples_floats_and_the_informational_keys():
    cfg = ActionClassifierConfig(labels=["a", "other"], dilations=(1, 3))
    back = ActionClassifierConfig.from_dict(json.loads(cfg.to_json_string()))
    assert back == cfg and back.dilations == (1, 3) and back.labels == ["a", "other"]
    assert GeneratorConfig.from_dict({"audio_guidance": 2}).audio_guidance == 2.0
    bank = RelationBankConfig.from_dict({"num_entries": 4, "covered_codes": 2, "max_per_code": 3})
    assert bank.max_per_code == 3
    cond = ConditionConfig(query_dims=[8])
    assert ConditionConfig.from_dict(cond.to_dict()) == cond


def test_the_single_condition_file_is_strict_too(tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    path = save_conditions(_tiny_conditions(), tmp_path / "c.safetensors")
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["versa_conditions_config"])
    save_file(load_file(str(path)), str(path), metadata={"versa_conditions_config": json.dumps({**meta, "bogus": 1})})
    with pytest.raises(ConfigError, match="unknown ConditionConfig keys: bogus"):
        load_conditions(path)


def test_a_folder_without_its_files_and_a_bank_off_the_cpu_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json and model.safetensors missing"):
        VersaConditions.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="device must be 'cpu'"):
        RelationBank.from_pretrained(SHIPPED[RelationBank], device="cuda")
    folder = _copy_with_config(SHIPPED[RelationBank], tmp_path / "bank", num_entries=3)
    with pytest.raises(ValueError, match="says 3 entries"):
        RelationBank.from_pretrained(folder)


# ------------------------------------------------------------------------------------- model cards

def _card_header(text: str) -> dict:
    import yaml

    assert text.startswith("---\n")
    return yaml.safe_load(text[4:text.index("\n---\n", 4)])


@pytest.mark.parametrize("cls", list(SHIPPED), ids=lambda c: c.__name__)
def test_model_cards_open_with_the_hub_yaml_header_of_their_model(cls):
    header = _card_header((SHIPPED[cls] / "README.md").read_text(encoding="utf-8"))
    assert header == cls.card_metadata                       # one source: the model class
    assert header["license"] == "mit"
    assert isinstance(header["tags"], list) and header["tags"]
    assert isinstance(header["datasets"], list) and header["datasets"]
    assert header.get("library_name") == ("pytorch" if issubclass(cls, torch.nn.Module) else None)


def test_a_saved_card_gets_the_header_once(tmp_path):
    model = RetrievalEvaluator(RetrievalConfig())
    card = (model.save_pretrained(tmp_path / "r", card="# card\n") / "README.md").read_text()
    assert _card_header(card) == RetrievalEvaluator.card_metadata and card.endswith("\n# card\n")
    again = (model.save_pretrained(tmp_path / "r2", card=card) / "README.md").read_text()
    assert again == card
