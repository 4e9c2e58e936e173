"""The span-QA recipe keys (``qa.doc_stride``, ``qa.n_best_size``, ``qa.max_answer_length``) reach the windows and
the answer search, and their defaults are the values used before they were keys."""
from __future__ import annotations

import numpy as np
import pytest
from transformers import AutoTokenizer

from xstilts import qa
from xstilts.config import QaConfig
from xstilts.tasks import TASKS
from xstilts.tasktypes.span_qa import SpanQa

CONTEXT = " ".join(f"word{i} is here." for i in range(60))
ROWS = [{"id": "q", "context": CONTEXT, "question": "where is word7?",
         "answers": {"text": ["word7 is here."], "answer_start": [CONTEXT.index("word7")]}}]


@pytest.fixture(scope="module")
def tok(tiny_phase1):
    return AutoTokenizer.from_pretrained(tiny_phase1)


def test_default_stride_is_the_derived_value(tok):
    assert QaConfig().stride(384) == 128 and QaConfig().stride(96) == 32 and QaConfig(doc_stride=10).stride(96) == 10
    default = SpanQa(TASKS["xquad"]).encode(ROWS, tok, 96, train=False)
    explicit = SpanQa(TASKS["xquad"], QaConfig(doc_stride=96 // 3)).encode(ROWS, tok, 96, train=False)
    assert default.windows["input_ids"] == explicit.windows["input_ids"]


def test_doc_stride_sets_the_window_step(tok):
    wide = SpanQa(TASKS["xquad"], QaConfig(doc_stride=16)).encode(ROWS, tok, 96, train=False)
    narrow = SpanQa(TASKS["xquad"], QaConfig(doc_stride=5)).encode(ROWS, tok, 96, train=False)
    assert len(narrow.features) > len(wide.features) > 1


def test_max_answer_length_bounds_the_predicted_span(tok):
    enc = SpanQa(TASKS["xquad"]).encode(ROWS, tok, 96, train=False)
    # First window: the best span runs from its first context token over six tokens; a one-token span scores less.
    logits = [np.zeros((len(f["input_ids"]), 2), dtype=np.float32) for f in enc.features]
    context = [i for i, o in enumerate(enc.windows["offset_mapping"][0]) if o is not None]
    logits[0][context[0], 0], logits[0][context[5], 1], logits[0][context[0], 1] = 5.0, 5.0, 1.0
    long = SpanQa(TASKS["xquad"], QaConfig(max_answer_length=30)).predict(ROWS, enc, logits)[0]
    short = SpanQa(TASKS["xquad"], QaConfig(max_answer_length=1)).predict(ROWS, enc, logits)[0]
    assert len(short) < len(long) and short and short in CONTEXT
    same = qa.postprocess_qa_predictions([CONTEXT], enc.windows, [lg[:, 0] for lg in logits],
                                         [lg[:, 1] for lg in logits])[0]
    assert SpanQa(TASKS["xquad"]).predict(ROWS, enc, logits)[0] == same  # defaults: 20 and 30, as before
