"""What keeps a GPU waiting for the host, checked on CPU (issue 26): host reads per training step and in the forward
pass, graph breaks with two heads, the batch shapes on the real XNLI lengths, the loss guard's deferred check and
regional compilation's one compile per shape. The figures come from bench/step_hygiene.py, which
``bench/gpu_check.py --cpu --tiny`` writes as ``step_hygiene``; a regression of any target fails here."""
from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
import torch

from xstilts import callbacks, training
from xstilts.tasktypes.common import Collator, padded_width, predict_logits

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import step_hygiene  # noqa: E402


def test_padded_width_rounds_up_within_max_length():
    assert padded_width(33, 16) == 48 and padded_width(32, 16) == 32 and padded_width(33, 1) == 33
    assert padded_width(120, 16, cap=128) == 128 and padded_width(100, 16, cap=110) == 110  # never past max_length
    assert padded_width(140, 16, cap=128) == 140  # a longer row (a caller's own features) is never cut


def test_collator_pads_to_the_multiple_and_gives_the_task_id_as_an_int():
    batch = Collator(1, 16, 128)([{"input_ids": [0, 5, 2], "attention_mask": [1, 1, 1], "labels": 1, "task_id": 1},
                                  {"input_ids": [0, 2], "attention_mask": [1, 1], "labels": 0, "task_id": 1}])
    assert batch["input_ids"].shape == (2, 16) and batch["input_ids"][1, 2:].eq(1).all()
    assert batch["attention_mask"].sum().item() == 5 and batch["task_id"] == 1 and isinstance(batch["task_id"], int)
    with pytest.raises(ValueError, match="mixes task ids"):
        Collator(1)([{"input_ids": [0], "task_id": 0}, {"input_ids": [0], "task_id": 1}])


def test_padding_to_a_multiple_changes_no_prediction():
    model = step_hygiene.tiny_model(1, "cpu")
    feats = [{k: v for k, v in f.items() if k != "labels"} for f in step_hygiene.features([5, 9, 17, 30, 44], seed=3)]
    plain = predict_logits(model, feats, Collator(1), 2)
    padded = predict_logits(model, feats, Collator(1, 16, 128), 2)
    for a, b in zip(plain, padded, strict=True):
        assert a.shape == b.shape and abs(a - b).max() < 1e-5


def test_padding_to_a_multiple_changes_no_training_step_without_dropout():
    """With dropout off a training step's loss and gradients are the same at any padding (masked positions take no
    part). With dropout on, the masks are drawn over the padded shape, so a run padded to 16 draws other masks than
    one padded to the longest row: the difference of another dropout seed, not of the arithmetic. (Measured on the
    quickstart's phase-3 runs: evaluation scores identical for every task type; trained runs within the
    example-level intervals.)"""
    feats = step_hygiene.features([5, 9, 17, 30, 44], seed=4)
    grads = []
    for multiple in (1, 16):
        model = step_hygiene.tiny_model(1, "cpu").train()
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
        loss = model(**Collator(1, multiple, 128)(feats))["loss"]
        loss.backward()
        grads.append((loss.item(), torch.cat([q.grad.flatten() for q in model.parameters() if q.grad is not None])))
    assert abs(grads[0][0] - grads[1][0]) < 1e-6 and torch.allclose(grads[0][1], grads[1][1], atol=1e-6)


@pytest.mark.parametrize("heads", [1, 2])
def test_training_step_reads_the_device_at_most_once_per_step_and_never_in_forward(heads):
    out = step_hygiene.measure_training("cpu", heads, steps=25)
    assert out["steps"] == 25
    assert out["syncs_per_step"] <= step_hygiene.TARGETS["syncs_per_step"], out["sites"]
    assert out["syncs_in_forward"] == 0, out["sites"]


def test_evaluation_loop_reads_nothing_back_per_batch():
    out = step_hygiene.measure_evaluation("cpu", examples=200)
    assert out["syncs"] == 0 and out["syncs_in_forward"] == 0, out["sites"]


def test_two_head_forward_has_no_graph_break():
    assert step_hygiene.graph_breaks(2) == 0


def test_few_shapes_on_the_real_xnli_lengths():
    train, ev = step_hygiene.train_shapes(), step_hygiene.eval_shapes()
    assert train["batches"] == 623 and train["distinct"] <= 6 and train["padded_over_real"] <= 1.25, train
    assert ev["distinct"] <= 8 and ev["padded_over_real"] <= 1.25, ev
    assert step_hygiene.train_shapes(pad_to_multiple_of=1)["distinct"] > 40  # what padding to the longest row gives


def _control(**flags):
    base = {"should_log": False, "should_evaluate": False, "should_save": False, "should_training_stop": False}
    return types.SimpleNamespace(**{**base, **flags})


def test_loss_guard_defers_its_read_to_the_next_log_or_checkpoint_step(tmp_path):
    """A NaN at step 3 is not read at once (no host wait per step), but before anything is saved or logged: the
    failure names step 3, and nothing of step 3 or later was written in between."""
    guard = callbacks.LossGuard(["xnli"], tmp_path)
    state = types.SimpleNamespace(global_step=0, max_steps=10)
    counter = step_hygiene.SyncCounter()
    with counter:
        counter.active = True
        for step, loss in ((1, 1.0), (2, 0.9), (3, float("nan")), (4, 0.8)):
            state.global_step = step
            guard.record(torch.tensor(loss))
            guard.on_step_end(None, state, _control())
    assert counter.total == 0  # four steps, no host read
    state.global_step = 5
    guard.record(torch.tensor(0.7))
    with pytest.raises(training.TrainingFailed, match="loss is nan at step 3 "):
        guard.on_step_end(None, state, _control(should_save=True))
    exploding = callbacks.LossGuard(["xnli"], tmp_path)
    for step, loss in ((1, 1.0), (2, 2e4)):
        exploding.record(torch.tensor(loss))
        exploding.update(step)
    with pytest.raises(training.TrainingFailed, match="at step 2 .*It exploded"):
        exploding.on_train_end(None, state, None)


def test_regional_compile_compiles_once_per_shape_and_changes_nothing():
    from torch._dynamo.testing import CompileCounter

    torch._dynamo.reset()
    eager = step_hygiene.tiny_model(1, "cpu").train()
    compiled = step_hygiene.tiny_model(1, "cpu").train()
    backend = CompileCounter()
    assert training.compile_layers(compiled, "default", backend=backend) == 2
    collator = Collator(1, 16, 128)
    widths = set()
    for i, lengths in enumerate(([5, 9], [20, 30], [7, 12], [40, 33], [18, 3])):
        batch = collator(step_hygiene.features(lengths, seed=i))
        widths.add(batch["input_ids"].shape[1])
        torch.manual_seed(i)
        ref = eager(**batch)["loss"]
        torch.manual_seed(i)
        got = compiled(**batch)["loss"]
        got.backward()
        assert torch.allclose(ref, got, atol=1e-6)
    assert backend.frame_count == len(widths) == 3  # both layers share each shape's graph
    assert list(compiled.state_dict()) == list(eager.state_dict())  # parameter names unchanged: same checkpoints
    torch._dynamo.reset()


def test_compiled_trainer_compiles_once_per_padded_shape(tmp_path):
    """train.compile=default through the phase-3 XTrainer (bf16 autocast, the optimizer, the loss guard): the layers'
    graph is compiled once per (batch, width) shape the steps meet and never again."""
    from torch._dynamo.testing import CompileCounter

    torch._dynamo.reset()
    backend = CompileCounter()
    trainer = step_hygiene.build({"batch_size": 8, "compile": "default", "pad_to_multiple_of": 16,
                                  "precision": "bf16"}, 1, "cpu", tmp_path, steps=12, compile_backend=backend)
    # Training steps only: the final dev evaluation (inference mode, batches of 64) would add its own shape's graph.
    trainer.args.eval_strategy = trainer.args.save_strategy = "no"
    trainer.args.load_best_model_at_end = False
    trainer.train()
    assert trainer.compiled_layers == 2 and trainer.compile_mode == "default"
    assert 2 <= len(trainer.shapes_seen) == backend.frame_count, (trainer.shapes_seen, backend.frame_count)
    torch._dynamo.reset()


def test_no_head_kind_reads_the_device_in_its_training_pass():
    """Classification, span QA, tagging and multiple choice heads on one encoder (the multi-task model): no host read
    in the forward or backward pass of any of them. (The mlm pseudo-task does read: it selects the masked
    positions, a data-dependent size.)"""
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from xstilts.modeling import MultiHeadModel
    from xstilts.typespecs import HeadSpec

    config = XLMRobertaConfig(vocab_size=100, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                              intermediate_size=64, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1)
    encoder = XLMRobertaModel._from_config(config, attn_implementation="sdpa", add_pooling_layer=False)
    model = MultiHeadModel(encoder, [HeadSpec("c", "classification", 3), HeadSpec("q", "span_qa", 2),
                                     HeadSpec("t", "tagging", 5), HeadSpec("m", "multiple_choice", 1)]).train()

    def ids(n):
        return [0] + [7] * (n - 2) + [2]

    batches = [
        [{"input_ids": ids(n), "attention_mask": [1] * n, "labels": 1, "task_id": 0} for n in (9, 20)],
        [{"input_ids": ids(n), "attention_mask": [1] * n, "start_positions": 2, "end_positions": 4, "task_id": 1}
         for n in (9, 20)],
        [{"input_ids": ids(n), "attention_mask": [1] * n, "labels": [-100] + [1] * (n - 2) + [-100], "task_id": 2}
         for n in (9, 20)],
        [{"input_ids": [ids(n), ids(n + 3)], "attention_mask": [[1] * n, [1] * (n + 3)], "labels": 1, "task_id": 3}
         for n in (9, 20)],
    ]
    for feats in batches:
        batch = Collator(1, 16, 128)(feats)
        counter = step_hygiene.SyncCounter()
        with counter:
            counter.active = True
            model(**batch)["loss"].backward()
        assert counter.total == 0, dict(counter.sites)


def test_retrieval_embedding_loop_reads_nothing_back_per_batch():
    """Tatoeba/BUCC embed in a loop of their own: its per-batch work must not read a tensor on the host either (one
    copy back at the end), and the embeddings are those of the plain loop."""
    from transformers import PreTrainedTokenizerFast
    from tokenizers import Tokenizer, models, pre_tokenizers

    from xstilts import retrieval
    from xstilts.tasktypes.retrieval import embed_layers

    words = [f"w{i}" for i in range(50)]
    tok = Tokenizer(models.WordLevel({"<pad>": 0, "<unk>": 1, **{w: i + 2 for i, w in enumerate(words)}},
                                     unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>")
    model = step_hygiene.tiny_model(1, "cpu").encoder.eval()
    sentences = [" ".join(words[i:i + 1 + i % 7]) for i in range(40)]
    counter = step_hygiene.SyncCounter()
    with counter:
        counter.active = True
        got = embed_layers(model, tokenizer, sentences, [1, 2], "mean", 32, 8)
        counter.active = False
    batches = -(-len(sentences) // 8)
    assert counter.total < batches, counter.sites  # nothing per batch (the final copies and normalisation only)
    with torch.inference_mode():  # the reference: one sentence at a time, no padding at all
        for i in (0, 13, 39):
            enc = tokenizer([sentences[i]], return_tensors="pt")
            states = model(**enc, output_hidden_states=True).hidden_states
            ref = retrieval.l2_normalize(retrieval.mean_pool(states[2], enc["attention_mask"]))
            assert torch.allclose(got[1][i], ref[0], atol=1e-5)
