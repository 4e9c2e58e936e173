"""The GPU speed settings as recipe keys, checked on the CPU: what each maps to, that CPU behaviour stays as it was,
and the fp16 loss-scaling case of the loss guard. Their effect on a GPU is checked by tests/test_cuda.py."""
from __future__ import annotations

import types

import pytest
import torch

from xstilts import callbacks, evaluation, recipe, training
from xstilts.config import TrainConfig
from xstilts.recipe import RecipeError


def _args(tmp_path, **train):
    return training.training_arguments(TrainConfig(**train), tmp_path, ["labels"], steps_per_epoch=10)


def test_recipe_settings_reach_the_trainer_and_cpu_defaults_are_unchanged(tmp_path):
    args = _args(tmp_path)
    assert not args.torch_compile and args.dataloader_num_workers == 0
    assert args.tf32 is None  # no TF32 on a CPU: fp32 matmuls stay exact
    assert str(getattr(args.optim, "value", args.optim)) == "adamw_torch_fused"  # transformers' default (torch >= 2.8)
    assert args.dataloader_pin_memory == torch.cuda.is_available()
    # Copies to the GPU wait for nothing where memory is pinned (accelerate's non_blocking), never without pinning.
    assert args.accelerator_config.non_blocking == args.dataloader_pin_memory
    args = _args(tmp_path, compile=True, dataloader_workers=2)
    # train.compile is regional (compile_layers), never the Trainer's whole-model torch.compile.
    assert not args.torch_compile and args.dataloader_num_workers == 2
    assert training.compile_mode(TrainConfig(compile=True)) == "default"
    assert training.compile_mode(TrainConfig(compile=False)) == training.compile_mode(TrainConfig()) == "off"
    # Padding: 16 on a GPU (few shapes), 1 on CPU (throughput follows tokens there; CPU numbers unchanged).
    from xstilts.tasktypes.common import pad_multiple

    assert TrainConfig().pad_to_multiple_of == "auto" and pad_multiple("auto", "cuda") == 16
    assert pad_multiple("auto", "cpu") == 1 and pad_multiple(8, "cpu") == 8
    # Evaluation batches: 64 on CPU as before; on a GPU about 32k tokens per batch, between 64 and 256.
    from xstilts.config import EvalRecipe
    from xstilts.tasktypes.common import eval_batch_size

    assert EvalRecipe(input="a", output="b").batch_size == "auto" and eval_batch_size("auto", "cpu", 128) == 64
    assert eval_batch_size("auto", "cuda", 128) == 256 and eval_batch_size("auto", "cuda", 384) == 85
    assert eval_batch_size("auto", "cuda", 512, sequences_per_row=4) == 64 and eval_batch_size(16, "cuda", 128) == 16
    speed = training.speed_settings(types.SimpleNamespace(config=types.SimpleNamespace(_attn_implementation="sdpa")),
                                    args)
    assert speed == {"attn_implementation": "sdpa", "precision": "fp32", "tf32": False, "compile": "off",
                     "optim": "adamw_torch_fused", "dataloader_workers": 2, "pin_memory": torch.cuda.is_available(),
                     "non_blocking": torch.cuda.is_available(),
                     "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
    with pytest.raises(RecipeError, match="graphs needs fixed batch shapes"):
        recipe.build(TrainConfig, {"compile": "graphs", "pad_to_multiple_of": 1})
    assert recipe.build(TrainConfig, {"compile": "graphs"}).compile == "graphs"
    with pytest.raises(RecipeError, match="dataloader_workers"):
        recipe.build(TrainConfig, {"dataloader_workers": -1})


def test_attn_implementation_is_passed_when_loading_the_encoder(tiny_phase1):
    from xstilts.modeling import load_encoder

    assert load_encoder(tiny_phase1).config._attn_implementation == "sdpa"  # transformers' own default
    assert load_encoder(tiny_phase1, attn_implementation="eager").config._attn_implementation == "eager"
    assert load_encoder(tiny_phase1, attn_implementation="sdpa").config._attn_implementation == "sdpa"
    try:
        import flash_attn  # noqa: F401
    except ImportError:
        with pytest.raises(RecipeError, match="train.attn_implementation: flash_attention_2 cannot be used"):
            load_encoder(tiny_phase1, attn_implementation="flash_attention_2")


def test_evaluation_precision_auto_is_fp32_on_cpu_and_bf16_autocasts_the_encoder_only(tiny_phase1):
    from transformers import AutoTokenizer

    from xstilts.modeling import load_encoder
    from xstilts.tasktypes.retrieval import embed

    if not torch.cuda.is_available():
        assert evaluation.effective_precision("auto") == "fp32"  # CPU numbers never change
    assert evaluation.effective_precision("bf16") == "bf16" and evaluation.effective_precision("fp32") == "fp32"
    tok = AutoTokenizer.from_pretrained(tiny_phase1)
    sentences = [f"the cat sees the dog number {i}" for i in range(12)]
    plain = load_encoder(tiny_phase1).eval()
    same = evaluation.autocast_encoder(load_encoder(tiny_phase1).eval(), "fp32")
    assert "forward" not in vars(same)  # fp32: the module is left exactly as it was
    bf16 = evaluation.autocast_encoder(load_encoder(tiny_phase1).eval(), "bf16")
    ref = embed(plain, tok, sentences, 1, "mean", 32, 4)
    low = embed(bf16, tok, sentences, 1, "mean", 32, 4)
    assert low.dtype == torch.float32 and not torch.equal(low, ref)  # autocast did run ...
    assert torch.nn.functional.cosine_similarity(low, ref).min() > 0.99  # ... within bf16's precision


def test_loss_guard_lets_fp16_loss_scaling_skip_overflowing_steps(tmp_path):
    """With fp16 an overflowing step logs an infinite grad_norm: the scaler skips it and lowers its scale, so it is
    no reason to stop; in fp32 or bf16 the same log means the run has diverged."""
    guard = callbacks.LossGuard(["xnli"], tmp_path)
    state = types.SimpleNamespace(global_step=1)
    guard.on_log(types.SimpleNamespace(fp16=True), state, None, logs={"loss": 1.1, "grad_norm": float("inf")})
    with pytest.raises(training.TrainingFailed, match="at step 1"):
        guard.on_log(types.SimpleNamespace(fp16=False), state, None, logs={"loss": 1.1, "grad_norm": float("inf")})
    with pytest.raises(training.TrainingFailed):  # a NaN loss stops an fp16 run all the same (checked every step)
        guard.check(float("nan"), 2)
