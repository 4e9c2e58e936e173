"""Multi-task sampling: the four task distributions against hand-computed values, the batch sampler's empirical task
frequencies, one task per optimizer step, and a multi-task phase 2 run writing per-task dev metrics and their mean."""
from __future__ import annotations

import functools
import json

import helpers
import pytest
from fakehub import FakeHub

import phase2_intermediate
from xstilts import data
from xstilts.config import SamplerConfig
from xstilts.modeling import MultiHeadModel
from xstilts.sampling import TaskBatchSampler, task_probabilities

SIZES = {"a": 100, "b": 400, "c": 1600}


# ---- task_probabilities -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cfg, expected", [
    (SamplerConfig(kind="uniform"), {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}),
    (SamplerConfig(kind="proportional"), {"a": 100 / 2100, "b": 400 / 2100, "c": 1600 / 2100}),
    # p ~ min(n, 400): 100, 400, 400
    (SamplerConfig(kind="capped", cap=400), {"a": 1 / 9, "b": 4 / 9, "c": 4 / 9}),
    # p ~ n ** (1/2): 10, 20, 40
    (SamplerConfig(kind="temperature", temperature=2.0), {"a": 1 / 7, "b": 2 / 7, "c": 4 / 7}),
    # p ~ min(n, 400) ** (1/2): 10, 20, 20
    (SamplerConfig(kind="temperature", temperature=2.0, cap=400), {"a": 0.2, "b": 0.4, "c": 0.4}),
    # T = 1 is capped-proportional
    (SamplerConfig(kind="temperature", temperature=1.0, cap=400), {"a": 1 / 9, "b": 4 / 9, "c": 4 / 9}),
])
def test_task_probabilities_match_hand_computed_values(cfg, expected):
    probs = task_probabilities(SIZES, cfg)
    assert list(probs) == list(SIZES)
    assert probs == pytest.approx(expected, abs=1e-12)
    assert sum(probs.values()) == pytest.approx(1.0)


def test_a_cap_does_not_change_proportional_sampling_and_large_temperature_tends_to_uniform():
    assert task_probabilities(SIZES, SamplerConfig(kind="proportional", cap=400)) == pytest.approx(
        task_probabilities(SIZES, SamplerConfig(kind="proportional")))
    hot = task_probabilities(SIZES, SamplerConfig(kind="temperature", temperature=1e6))
    assert hot == pytest.approx({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, abs=1e-5)


def test_task_probabilities_bad_input():
    with pytest.raises(ValueError, match="no tasks"):
        task_probabilities({}, SamplerConfig())
    with pytest.raises(ValueError, match="task 'b' has no training examples"):
        task_probabilities({"a": 3, "b": 0}, SamplerConfig(kind="uniform"))


# ---- TaskBatchSampler ---------------------------------------------------------------------------------------------
def _chi_square(counts: dict[str, int], probs: dict[str, float]) -> float:
    n = sum(counts.values())
    return sum((counts.get(t, 0) - n * p) ** 2 / (n * p) for t, p in probs.items())


# 99.9% quantile of chi-square with 2 degrees of freedom (3 tasks): a fixed seed makes the check deterministic, and a
# sampler off by a few percent on 6,000 draws lands far above it.
CHI2_2DF_999 = 13.82


@pytest.mark.parametrize("cfg", [SamplerConfig(kind="uniform"), SamplerConfig(kind="proportional"),
                                 SamplerConfig(kind="capped", cap=400), SamplerConfig(kind="temperature"),
                                 SamplerConfig(kind="temperature", temperature=3.0, cap=800)],
                         ids=["uniform", "proportional", "capped", "temperature", "temperature-capped"])
def test_empirical_task_frequencies_match_the_distribution(cfg):
    probs = task_probabilities(SIZES, cfg)
    sampler = TaskBatchSampler(SIZES, probs, batch_size=2, grad_accum=1, steps_per_epoch=6000, seed=7)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 6000
    counts = {t: sampler.drawn.count(t) for t in SIZES}
    assert _chi_square(counts, probs) < CHI2_2DF_999, (counts, probs)
    for t, p in probs.items():  # and plainly close: within 2.5 percentage points
        assert abs(counts[t] / 6000 - p) < 0.025, (t, counts[t], p)


def test_a_wrong_distribution_fails_the_frequency_check():
    """The check has power: proportional draws are far from uniform."""
    probs = task_probabilities(SIZES, SamplerConfig(kind="proportional"))
    sampler = TaskBatchSampler(SIZES, probs, batch_size=2, grad_accum=1, steps_per_epoch=6000, seed=7)
    list(sampler)
    counts = {t: sampler.drawn.count(t) for t in SIZES}
    assert _chi_square(counts, {t: 1 / 3 for t in SIZES}) > 100 * CHI2_2DF_999


def _task_of(index: int, offsets: dict[str, tuple[int, int]]) -> str:
    for t, (start, n) in offsets.items():
        if start <= index < start + n:
            return t
    raise AssertionError(f"index {index} outside every task's slice")


def test_each_optimizer_step_draws_one_task_and_stays_in_its_slice():
    sizes = {"a": 5, "b": 30, "c": 11}
    probs = task_probabilities(sizes, SamplerConfig(kind="uniform"))
    sampler = TaskBatchSampler(sizes, probs, batch_size=4, grad_accum=3, steps_per_epoch=200, seed=1)
    batches = list(sampler)
    assert len(batches) == 200 * 3
    assert sampler.offsets == {"a": (0, 5), "b": (5, 30), "c": (35, 11)}
    for step, task in enumerate(sampler.drawn):
        for batch in batches[step * 3:(step + 1) * 3]:
            assert len(batch) == 4
            assert {_task_of(i, sampler.offsets) for i in batch} == {task}
    # Every example of a task is visited before any is repeated: the first 5 draws of "a" cover it once.
    first_a = [i for step, t in enumerate(sampler.drawn) if t == "a" for b in batches[step * 3:(step + 1) * 3]
               for i in b][:5]
    assert sorted(first_a) == [0, 1, 2, 3, 4]


def test_a_task_smaller_than_the_batch_gives_smaller_batches():
    sampler = TaskBatchSampler({"a": 3, "b": 50}, {"a": 1.0, "b": 0.0}, batch_size=8, grad_accum=2,
                               steps_per_epoch=4, seed=0)
    batches = list(sampler)
    assert all(sorted(b) == [0, 1, 2] for b in batches) and set(sampler.drawn) == {"a"}


def test_sampler_is_reproducible_and_epochs_differ():
    probs = task_probabilities(SIZES, SamplerConfig())

    def make() -> TaskBatchSampler:
        return TaskBatchSampler(SIZES, probs, batch_size=4, grad_accum=2, steps_per_epoch=50, seed=3)

    s1, s2 = make(), make()
    e1, e2 = list(s1), list(s2)
    assert e1 == e2 and s1.drawn == s2.drawn
    assert list(s1) != e1  # the next epoch has another order


# ---- a multi-task phase 2 run --------------------------------------------------------------------------------------
CORPUS = helpers.CORPUS[:40] + ["a red house by the river"]
FAST = helpers.SMALL + ["data.source=hub", "data.max_train_samples=16", "data.max_eval_samples=8",
                        "train.max_length=96"]


@pytest.fixture(scope="module")
def encoder(tiny_phase1):
    return tiny_phase1  # the shared tiny encoder of conftest.py


def test_multitask_phase2_writes_per_task_dev_metrics_and_their_mean(encoder, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "hub_loader", FakeHub(n=16))
    # Record the task of every training forward pass: grad_accum consecutive micro-batches must share one task.
    seen: list[int] = []
    original = MultiHeadModel.forward

    @functools.wraps(original)  # the Trainer inspects forward's signature
    def recording(self, *args, **kwargs):
        if self.training and kwargs.get("task_id") is not None:
            # One task per micro-batch: the collator gives it as a Python int (and refuses a mixed batch).
            assert isinstance(kwargs["task_id"], int), kwargs["task_id"]
            seen.append(kwargs["task_id"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MultiHeadModel, "forward", recording)
    out = tmp_path / "p2"
    # mnli (classification), siqa (multiple choice), squad (span QA): three head kinds sharing one encoder.
    assert phase2_intermediate.main(["recipes/phase2/mnli.yaml", f"input={encoder}", f"output={out}",
                                     "tasks=[mnli,siqa,squad]", "sampler.kind=uniform", "train.max_steps=6",
                                     "train.grad_accum=2", "train.eval_steps=3", *FAST]) == 0

    metrics = json.loads((out / "metrics.json").read_text())
    dev = metrics["dev"]
    for key in ("mnli_accuracy", "siqa_accuracy", "squad_exact_match", "squad_f1"):
        assert 0.0 <= dev[key] <= 100.0, key
    assert dev["squad_score"] == pytest.approx((dev["squad_exact_match"] + dev["squad_f1"]) / 2)
    assert dev["score"] == pytest.approx((dev["mnli_score"] + dev["siqa_score"] + dev["squad_score"]) / 3)
    assert metrics["heads"] == ["mnli", "siqa", "squad"]
    assert set(metrics["train_sizes"]) == {"mnli", "siqa", "squad"} and metrics["global_step"] == 6
    heads = json.loads((out / "final" / "heads.json").read_text())["heads"]
    assert [(h["task"], h["kind"]) for h in heads] == [("mnli", "classification"), ("siqa", "multiple_choice"),
                                                       ("squad", "span_qa")]
    # Per-task dev metrics were logged at every evaluation, too (model selection on their mean).
    evals = [h for h in metrics["log_history"] if "eval_score" in h]
    assert len(evals) >= 2 and all("eval_siqa_accuracy" in h and "eval_squad_f1" in h for h in evals)

    assert len(seen) == 6 * 2
    steps = [seen[i:i + 2] for i in range(0, len(seen), 2)]
    assert all(a == b for a, b in steps), steps
    assert len(set(seen)) >= 2, seen  # and the steps did switch tasks


def test_all_nine_recipe_runs_multitask_offline(encoder, tmp_path, monkeypatch):
    """The paper's all-tasks recipe as shipped (its sampler and task list), shortened to a few steps."""
    hub = FakeHub(n=12)
    monkeypatch.setattr(data, "hub_loader", hub)
    from test_ccg import make_ccgbank  # CCG reads a (hand-made) CCGbank data/AUTO folder from data.path

    out = tmp_path / "p2"
    assert phase2_intermediate.main(["recipes/phase2/all_nine.yaml", f"input={encoder}", f"output={out}",
                                     f"data.path={make_ccgbank(tmp_path / 'ccgbank')}",
                                     "train.max_steps=2", "train.eval_steps=2", "train.grad_accum=1", *FAST]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    tasks = ["mnli", "anli_plus", "qqp", "sst2", "squad", "hellaswag", "commonsenseqa", "cosmosqa", "ccg"]
    assert metrics["heads"] == tasks
    assert metrics["dev"]["score"] == pytest.approx(sum(metrics["dev"][f"{t}_score"] for t in tasks) / len(tasks))
    assert (out / "DONE").is_file()
