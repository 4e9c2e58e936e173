"""Constants the phase tests share: a toy corpus and the overrides that make a training run take seconds.

An override list goes last on a command line (``main([recipe, ..., *FAST])``), so each key in it wins over the same
key given earlier: a test that sets its own step count uses ``SMALL``, which has none. A test that needs another
value of a key adds it after the shared list (``FAST + ["train.max_length=96"]``), so the difference stays visible.
"""
from __future__ import annotations

# Lines the tiny tokenizers and encoders are trained on (``encoders.corpus_lines`` is patched to return them);
# tests that need a shorter corpus take ``CORPUS[:40]``.
CORPUS = [f"the cat sees the dog number {i} in the big city" for i in range(60)]

# Phase 1: the tiny encoder at its smallest (one layer, hidden 32, a 200-piece vocabulary; statistics on English).
P1_FAST = ["stats_languages=[en]", "tiny.vocab_size=200", "tiny.num_layers=1", "tiny.hidden_size=32"]

# Phases 2 and 3: micro-batches of 4 in fp32, the loss logged at every step; no step count.
SMALL = ["train.precision=fp32", "train.batch_size=4", "train.eval_batch_size=16", "train.logging_steps=1"]

# ... and two optimizer steps of one micro-batch each, evaluated once, on inputs of at most 40 tokens.
FAST = SMALL + ["train.max_steps=2", "train.eval_steps=2", "train.grad_accum=1", "train.max_length=40"]

# One epoch on Hub-schema data (FakeHub), evaluated every 3 steps, batches of 8, inputs of at most 48 tokens: the
# settings of the end-to-end chain tests, whose scores must move.
ONE_EPOCH = ["train.epochs=1", "train.eval_steps=3", "train.batch_size=8", "train.max_length=48", "data.source=hub"]
