"""The span-QA recipe keys (``qa.doc_stride``, ``qa.n_best_size``, ``qa.max_answer_length``) reach the windows and
the answer search, and their defaults are the values used before they were keys."""
from __future__ import annotations

import numpy as np
import pytest
from transformers import AutoTokenizer

from xstilts import qa
from xstilts.config import QaConfig
from xstilts.tasks import TASKS
from xstilts.tasktypes import span_qa

CONTEXT = " ".join(f"word{i} is here." for i in range(60))
ROWS = [{"id": "q", "context": CONTEXT, "question": "where is word7?",
         "answers": {"text": ["word7 is here."], "answer_start": [CONTEXT.index("word7")]}}]


@pytest.fixture(scope="module")
def tok(tiny_phase1):
    return AutoTokenizer.from_pretrained(tiny_phase1)


def test_default_stride_is_the_derived_value(tok):
    assert QaConfig().stride(384) == 128 and QaConfig().stride(96) == 32 and QaConfig(doc_stride=10).stride(96) == 10
    default = span_qa.encode(TASKS["xquad"], ROWS, tok, 96, train=False)
    explicit = span_qa.encode(TASKS["xquad"], ROWS, tok, 96, train=False, qa=QaConfig(doc_stride=96 // 3))
    assert default.extra["qa"]["input_ids"] == explicit.extra["qa"]["input_ids"]


def test_doc_stride_sets_the_window_step(tok):
    wide = span_qa.encode(TASKS["xquad"], ROWS, tok, 96, train=False, qa=QaConfig(doc_stride=16))
    narrow = span_qa.encode(TASKS["xquad"], ROWS, tok, 96, train=False, qa=QaConfig(doc_stride=5))
    assert len(narrow.features) > len(wide.features) > 1


def test_max_answer_length_bounds_the_predicted_span(tok):
    enc = span_qa.encode(TASKS["xquad"], ROWS, tok, 96, train=False)
    # First window: the best span runs from its first context token over six tokens; a one-token span scores less.
    logits = [np.zeros((len(f["input_ids"]), 2), dtype=np.float32) for f in enc.features]
    ctx = [i for i, o in enumerate(enc.extra["qa"]["offset_mapping"][0]) if o is not None]
    logits[0][ctx[0], 0], logits[0][ctx[5], 1], logits[0][ctx[0], 1] = 5.0, 5.0, 1.0
    long = span_qa.predict(TASKS["xquad"], ROWS, enc, logits, qa=QaConfig(max_answer_length=30))[0]
    short = span_qa.predict(TASKS["xquad"], ROWS, enc, logits, qa=QaConfig(max_answer_length=1))[0]
    assert len(short) < len(long) and short and short in CONTEXT
    same = qa.postprocess_qa_predictions([CONTEXT], enc.extra["qa"], [lg[:, 0] for lg in logits],
                                         [lg[:, 1] for lg in logits])[0]
    assert span_qa.predict(TASKS["xquad"], ROWS, enc, logits)[0] == same  # defaults: 20 and 30, as before
