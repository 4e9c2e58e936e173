"""An independent check of the committed mini-grid Tatoeba numbers (opt-in: ``pytest -m real``).

It recomputes Tatoeba accuracy for the two real encoders without any xstilts code: plain file reading, one sentence
per forward pass (so no padding at all, unlike the toolkit's length-sorted padded batches), mean pooling written out
here, a full cosine matrix instead of the blocked top-k search. The committed results in ``results/mini`` must agree
within 0.5 points on average, and the English-only encoder must sit near chance on non-Latin-script languages.

Needs ``XSTILTS_REAL_MODELS`` (a folder holding ``multilingual-e5-small`` and ``all-MiniLM-L6-v2``, built by
``make models``) and the LASER Tatoeba files (``<XSTILTS_SHARED_DATA>/tatoeba``); skips without them.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results" / "mini"
# The language codes of XTREME's Tatoeba subset and the LASER file names (written out, not imported from xstilts).
ISO3 = {"af": "afr", "ar": "ara", "bg": "bul", "bn": "ben", "de": "deu", "el": "ell", "es": "spa", "et": "est",
        "eu": "eus", "fa": "pes", "fi": "fin", "fr": "fra", "he": "heb", "hi": "hin", "hu": "hun", "id": "ind",
        "it": "ita", "ja": "jpn", "jv": "jav", "ka": "kat", "kk": "kaz", "ko": "kor", "ml": "mal", "mr": "mar",
        "nl": "nld", "pt": "por", "ru": "rus", "sw": "swh", "ta": "tam", "te": "tel", "th": "tha", "tl": "tgl",
        "tr": "tur", "ur": "urd", "vi": "vie", "zh": "cmn"}
NON_LATIN = ["ar", "bg", "bn", "el", "fa", "he", "hi", "ja", "ka", "kk", "ko", "ml", "mr", "ru", "ta", "te", "th",
             "ur", "zh"]
CASES = [("e5-small-multi-none", "multilingual-e5-small"), ("minilm-english-none", "all-MiniLM-L6-v2")]


def _inputs(result_dir: str, model_name: str) -> tuple[dict, Path, Path]:
    result_file = RESULTS / result_dir / "tatoeba.json"
    if not result_file.is_file():
        pytest.skip(f"{result_file} is not there (run the mini grid first)")
    models = os.environ.get("XSTILTS_REAL_MODELS")
    if not models or not (Path(models) / model_name).is_dir():
        pytest.skip(f"set XSTILTS_REAL_MODELS to a folder holding {model_name} (make models)")
    shared = Path(os.environ.get("XSTILTS_SHARED_DATA") or REPO.parent / "shared" / "data")
    if not (shared / "tatoeba").is_dir():
        pytest.skip(f"LASER Tatoeba files not found under {shared}/tatoeba (set XSTILTS_SHARED_DATA)")
    return json.loads(result_file.read_text(encoding="utf-8")), Path(models) / model_name, shared / "tatoeba"


def _accuracy(model, tokenizer, layers: list[int], src: list[str], eng: list[str]) -> list[float]:
    """Tatoeba accuracy at each of ``layers``."""
    import torch

    def vecs(sentence: str) -> list[torch.Tensor]:
        enc = tokenizer(sentence, truncation=True, max_length=512, return_tensors="pt")
        states = model(**enc, output_hidden_states=True).hidden_states
        out = []
        for layer in layers:
            v = states[layer][0].mean(dim=0)  # every token, special tokens included (XTREME's default pooling)
            out.append(v / v.norm())
        return out

    with torch.inference_mode():
        x = [torch.stack(v) for v in zip(*(vecs(s) for s in src), strict=True)]
        e = [torch.stack(v) for v in zip(*(vecs(s) for s in eng), strict=True)]
    # Each English query retrieves a non-English row; gold is the same row.
    return [100.0 * ((ek @ xk.T).argmax(dim=1) == torch.arange(len(eng))).float().mean().item()
            for xk, ek in zip(x, e, strict=True)]


@pytest.mark.real
@pytest.mark.parametrize("result_dir,model_name", CASES)
def test_committed_tatoeba_scores_match_an_independent_mean_pooling_check(result_dir, model_name):
    from transformers import AutoModel, AutoTokenizer

    result, model_dir, folder = _inputs(result_dir, model_name)
    notes = " ".join(result["notes"])
    assert "mean pooling" in notes
    layer = int(notes.split("hidden_states[")[1].split("]")[0])
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    last = model.config.num_hidden_layers
    ours, theirs, ours_last, theirs_last = {}, {}, {}, {}
    for lang, metrics in result["languages"].items():
        n = int(metrics["n"])
        iso = ISO3[lang]
        src = (folder / f"tatoeba.{iso}-eng.{iso}").read_text(encoding="utf-8").split("\n")[:n]
        eng = (folder / f"tatoeba.{iso}-eng.eng").read_text(encoding="utf-8").split("\n")[:n]
        ours[lang] = metrics["accuracy"]
        theirs[lang], theirs_last[lang] = _accuracy(model, tokenizer, [layer, last], [s.strip() for s in src],
                                                    [s.strip() for s in eng])
        if "accuracy_last_layer" in metrics:  # retrieval.also_last_layer: checked the same way
            ours_last[lang] = metrics["accuracy_last_layer"]
    diffs = {lang: round(ours[lang] - theirs[lang], 2) for lang in ours if abs(ours[lang] - theirs[lang]) > 1e-9}
    mean_ours, mean_theirs = (sum(d.values()) / len(d) for d in (ours, theirs))
    print(f"{model_name}: committed {mean_ours:.2f}, independent {mean_theirs:.2f}, differing languages {diffs}")
    assert abs(mean_ours - mean_theirs) <= 0.5, diffs
    # Padding changes float sums in the last bits: at most one near-tie per language may flip (1 point of 100).
    assert all(abs(d) <= 100.0 / min(int(m["n"]) for m in result["languages"].values()) for d in diffs.values()), diffs
    for lang, value in ours_last.items():
        assert abs(value - theirs_last[lang]) <= 100.0 / int(result["languages"][lang]["n"]), (lang, value)
    if result["run"]["encoder_kind"] == "english":
        non_latin = [theirs[lang] for lang in NON_LATIN if lang in theirs]
        chance = 100.0 / min(int(m["n"]) for m in result["languages"].values())
        print(f"{model_name}: non-Latin-script mean {sum(non_latin) / len(non_latin):.2f} (chance {chance:.2f})")
        # Near chance: a few hits among 100-1,000 candidates (names and numbers are spelt alike across scripts), far
        # below the Latin-script languages its English vocabulary partly covers. Measured: 0.6 at the middle layer
        # (results/archive/mini-before-issue29), 1.6 at the last one this grid reads for a contrastive encoder, where
        # the Latin-script mean is 11.6.
        latin = [theirs[lang] for lang in theirs if lang not in NON_LATIN]
        assert sum(non_latin) / len(non_latin) < max(10 * chance, 2.5)
        assert sum(non_latin) / len(non_latin) < sum(latin) / len(latin) / 3
