"""``train.warmup_ratio`` reaches transformers 5 as ``warmup_steps``, which reads a float below 1 as a ratio and 1 or
more as a number of steps: every ratio the recipe allows ([0, 1]) warms up for ceil(total * ratio) steps, 1.0 for the
whole run rather than one step, and the ratios below 1 go in unchanged (no run's schedule moves)."""
from __future__ import annotations

import math

import pytest

from xstilts import training
from xstilts.config import TrainConfig


@pytest.mark.parametrize("ratio", [0.0, 0.06, 0.1, 0.5, 0.999, 1.0])
def test_every_allowed_ratio_warms_up_for_its_share_of_the_steps(tmp_path, ratio):
    args = training.training_arguments(TrainConfig(warmup_ratio=ratio), tmp_path, ["labels"], steps_per_epoch=10)
    for total in (1, 2, 7, 10, 37, 1000, 123457, 2**40 + 3):
        assert args.get_warmup_steps(total) == math.ceil(total * ratio), (ratio, total)


@pytest.mark.parametrize("ratio", [0.0, 0.06, 0.1, 0.5, 0.999])
def test_ratios_below_one_go_in_unchanged(tmp_path, ratio):
    args = training.training_arguments(TrainConfig(warmup_ratio=ratio), tmp_path, ["labels"], steps_per_epoch=10)
    assert args.warmup_steps == ratio


def test_a_ratio_of_one_is_not_one_step():
    assert training.warmup_steps_argument(1.0) < 1
    assert all(math.ceil(total * training.warmup_steps_argument(1.0)) == total for total in range(1, 100_000))
