"""Today's encoder families (ModernBERT/mmBERT, DeBERTa-v2/mDeBERTa-v3) end to end on tiny models built offline from
their configs: phase 1 -> phase 3 -> evaluation, LoRA under the family's own module names, the AutoModelFor... export
as the family table says, and the retrieval representation; plus the family table's own facts (xstilts.families)."""
from __future__ import annotations

import json
import typing
from types import SimpleNamespace

import pytest
import torch
from fakehub import FakeHub
from helpers import CORPUS, FAST, P1_FAST
from transformers import AutoModelForTokenClassification, AutoTokenizer

import evaluate_xtreme
import phase1_pretrained
import phase3_target
from xstilts import data, encoders, families, training
from xstilts.config import TinyEncoderConfig, TrainConfig
from xstilts.errors import TrainingFailed
from xstilts.results import read_result

NEW = ("modernbert", "deberta-v2")


@pytest.fixture(scope="module", params=NEW)
def family_runs(request, tmp_path_factory):
    """Phase 1 of a tiny encoder of the family, phase 3 on PAN-X (full fine-tuning) and XNLI (LoRA), each evaluated on
    two languages, and Tatoeba on the phase-1 encoder."""
    fam = request.param
    mp = pytest.MonkeyPatch()
    mp.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)
    mp.setattr(data, "hub_loader", FakeHub(n=16))
    t = tmp_path_factory.mktemp(fam)
    assert phase1_pretrained.main(["recipes/phase1/tiny_multilingual.yaml", f"output={t}/p1", *P1_FAST,
                                   f"tiny.family={fam}"]) == 0
    assert phase3_target.main(["recipes/phase3/panx.yaml", f"input={t}/p1", f"output={t}/panx", "data.source=hub",
                               *FAST]) == 0
    assert evaluate_xtreme.main([f"input={t}/panx", f"output={t}/r", "data.source=hub", "data.max_eval_samples=6",
                                 "languages=[en,de]"]) == 0
    assert phase3_target.main(["recipes/phase3/lora_example.yaml", f"input={t}/p1", f"output={t}/lora",
                               "data.source=hub", *FAST]) == 0
    assert evaluate_xtreme.main([f"input={t}/lora", f"output={t}/r", "data.source=hub", "data.max_eval_samples=6",
                                 "languages=[en,de]"]) == 0
    assert evaluate_xtreme.main([f"input={t}/p1", f"output={t}/r", "task=tatoeba", "data.source=embedded",
                                 "languages=[de]"]) == 0
    mp.undo()
    return fam, t


def test_tiny_family_is_the_architecture_asked_for(family_runs):
    fam, t = family_runs
    config = json.loads((t / "p1" / "config.json").read_text())
    assert config["model_type"] == fam
    tok = AutoTokenizer.from_pretrained(t / "p1")
    # ModernBERT's forward takes no token_type_ids: its tokenizer must not make them
    if not families.FAMILIES[fam].token_type_ids:
        assert "token_type_ids" not in tok("a b", "c")


def test_phase3_and_evaluation_score_every_language(family_runs):
    _, t = family_runs
    for task in ("panx", "xnli"):
        result = read_result(t / "r" / f"{task}.json")
        assert sorted(result.languages) == ["de", "en"]
        assert result.score is not None


def test_export_matches_the_family_table(family_runs):
    fam, t = family_runs
    entry = json.loads((t / "panx" / "metrics.json").read_text())["transformers"]
    exact = families.FAMILIES[fam].hf_export["tagging"] == "exact"
    assert entry["loadable"] is exact, entry
    if exact:  # transformers' own class gives our tagging logits on a probe sentence
        hf = AutoModelForTokenClassification.from_pretrained(t / "panx" / "final").eval()
        assert hf.config.model_type == fam
    else:
        assert "do not fit" in entry["reason"] or "not loadable" in entry["reason"]


def test_lora_adapts_the_family_modules(family_runs):
    fam, t = family_runs
    adapter = json.loads((t / "lora" / "final" / "adapter" / "adapter_config.json").read_text())
    expected = {n for k in ("query", "value") for n in families.FAMILIES[fam].lora_names[k]}
    assert set(adapter["target_modules"]) == expected


def test_retrieval_reads_the_middle_layer_of_an_mlm_encoder(family_runs):
    _, t = family_runs
    result = read_result(t / "r" / "tatoeba.json")
    note = next(n for n in result.notes if n.startswith("representation"))
    assert "mean pooling, hidden_states[1]" in note and "MLM encoder" in note


# ---- the table itself ------------------------------------------------------------------------------------------------
def test_every_tiny_family_has_facts_and_a_recipe_value():
    allowed = typing.get_args(typing.get_type_hints(TinyEncoderConfig)["family"])
    assert set(allowed) == set(families.TINY_FAMILIES)
    for fam in families.FAMILIES.values():
        assert set(fam.hf_export) == {"classification", "tagging", "span_qa", "multiple_choice"}
        assert "fp32" in fam.precisions and fam.attention


def test_contrastive_encoders_default_to_the_last_layer():
    mlm = SimpleNamespace(num_hidden_layers=12)
    sentence = SimpleNamespace(num_hidden_layers=12, **{families.CONTRASTIVE_KEY: True})
    assert families.retrieval_default(mlm)[:2] == (8, "mean")
    assert families.retrieval_default(sentence)[:2] == (12, "mean")
    assert families.middle_layer(24) == 14 and families.middle_layer(2) == 2
    assert families.is_contrastive("intfloat/multilingual-e5-small")
    assert families.is_contrastive("/models/all-MiniLM-L6-v2")
    assert not families.is_contrastive("FacebookAI/xlm-roberta-large")
    assert not families.is_contrastive("jhu-clsp/mmBERT-base")


def test_lora_names_translate_only_where_the_encoder_lacks_them():
    names, note = families.lora_modules("modernbert", ["query", "value"], {"Wqkv", "Wo", "Wi"})
    assert names == ["Wqkv"] and "query -> Wqkv" in note
    names, note = families.lora_modules("xlm-roberta", ["query", "value"], {"query", "key", "value", "dense"})
    assert names == ["query", "value"] and note is None
    names, _ = families.lora_modules("deberta-v2", ["query", "key", "value", "dense"],
                                     {"query_proj", "key_proj", "value_proj", "dense"})
    assert names == ["query_proj", "key_proj", "value_proj", "dense"]


def test_mdeberta_under_fp16_is_refused_with_the_reason(monkeypatch):
    assert families.precision_problem("deberta-v2", "bf16") is None
    assert families.precision_problem("xlm-roberta", "fp16") is None
    problem = families.precision_problem("deberta-v2", "fp16")
    assert "learns nothing under fp16" in problem and "bf16" in problem
    # ... and training refuses it before any step, even where fp16 itself would run (a CUDA machine)
    monkeypatch.setattr(training.torch.cuda, "is_available", lambda: True)
    model = torch.nn.Linear(2, 2)
    model.config = SimpleNamespace(model_type="deberta-v2")
    with pytest.raises(TrainingFailed, match="learns nothing under fp16"):
        training.run_training(model, None, [], [], TrainConfig(precision="fp16"), None, [], [])


def test_a_contrastive_encoder_is_read_at_its_last_layer(tmp_path, monkeypatch):
    """Phase 1 marks an e5-style sentence encoder in config.json; later evaluations embed from its last layer."""
    monkeypatch.setattr(encoders, "corpus_lines", lambda lang, sample=False: CORPUS)
    cfg = TinyEncoderConfig(languages=["en"], vocab_size=200, hidden_size=32, num_layers=6, num_heads=2,
                            intermediate_size=64, max_position=130)
    mlm, tokenizer = encoders.build_tiny_encoder(cfg, seed=0)
    folder = tmp_path / "multilingual-e5-tiny"  # the name, as a Hub id or folder, is what marks it
    encoders.save_encoder(mlm.base_model, tokenizer, folder)
    assert phase1_pretrained.main(["recipes/phase1/local.yaml", f"model={folder}", f"output={tmp_path}/p1",
                                   "stats_languages=[en]"]) == 0
    assert json.loads((tmp_path / "p1" / "config.json").read_text())[families.CONTRASTIVE_KEY] is True
    assert evaluate_xtreme.main([f"input={tmp_path}/p1", f"output={tmp_path}/r", "task=tatoeba",
                                 "data.source=embedded", "languages=[de]", "retrieval.max_length=64"]) == 0
    note = next(n for n in read_result(tmp_path / "r" / "tatoeba.json").notes if n.startswith("representation"))
    assert "hidden_states[6]" in note and "contrastively trained" in note
    # an explicit retrieval.layer still wins
    assert evaluate_xtreme.main([f"input={tmp_path}/p1", f"output={tmp_path}/r2", "task=tatoeba",
                                 "data.source=embedded", "languages=[de]", "retrieval.layer=5",
                                 "retrieval.max_length=64"]) == 0
    assert any("hidden_states[5]" in n for n in read_result(tmp_path / "r2" / "tatoeba.json").notes)


@pytest.mark.parametrize("name,model", [("hub_mmbert", "jhu-clsp/mmBERT-base"),
                                        ("hub_modernbert", "answerdotai/ModernBERT-base"),
                                        ("hub_mdeberta", "microsoft/mdeberta-v3-base"),
                                        ("hub_xlmv", "facebook/xlm-v-base"), ("hub_glot500", "cis-lmu/glot500-base")])
def test_hub_recipes_of_the_new_encoders_validate(name, model, tmp_path, capsys):
    from xstilts import command

    assert command.main(["validate", "phase1", f"recipes/phase1/{name}.yaml", f"output={tmp_path}/p1"]) == 0
    assert "is a valid recipe" in capsys.readouterr().out
    assert any(model in fam.hub_models for fam in families.FAMILIES.values())


def test_a_missing_head_class_is_recorded_not_a_crash(family_runs, monkeypatch):
    """transformers before 4.48 had no ModernBertForQuestionAnswering: the export says so and final/ stays usable."""
    import transformers

    from xstilts.modeling import hf_export, load_model

    fam, t = family_runs
    model = load_model(t / "panx" / "final")

    def refuse(config, **kwargs):
        raise ValueError(f"Unrecognized configuration class {type(config).__name__} for this kind of AutoModel")

    monkeypatch.setattr(transformers.AutoModelForTokenClassification, "from_config", refuse)
    found = hf_export(model, model.encoder, AutoTokenizer.from_pretrained(t / "panx" / "final"))
    assert found["loadable"] is False and "transformers has none for model_type " + fam in found["reason"]


@pytest.mark.parametrize("task", ["xnli", "xcopa"])
def test_deberta_sequence_heads_export_exactly(family_runs, task, tmp_path):
    """DeBERTa-v2's ContextPooler with pooler_hidden_act=tanh computes our classification head: the export is
    checked on a probe batch before it is saved, and AutoModelFor... loads it."""
    from xstilts.modeling import load_encoder, save_model
    from xstilts.pipeline import model_with_heads
    from xstilts.tasks import get_task

    fam, t = family_runs
    model, _ = model_with_heads(load_encoder(t / "p1"), [get_task(task)], t / "p1")
    torch.manual_seed(0)
    for p in model.heads.parameters():
        torch.nn.init.normal_(p, std=0.5)
    info = save_model(model, AutoTokenizer.from_pretrained(t / "p1"), tmp_path / "final", export_hf=True)
    kind = "classification" if task == "xnli" else "multiple_choice"
    assert info["transformers"]["loadable"] is (families.FAMILIES[fam].hf_export[kind] == "exact"), info


@pytest.mark.parametrize("how", ["validate", "phase3", "phase2"])
def test_a_precision_the_family_cannot_train_in_is_refused_before_any_work(tiny_phase1, tmp_path, capsys, how):
    """mDeBERTa under fp16 was refused only when training started (after the model and every row were loaded), and
    ``xstilts validate`` answered ok for it: now the input's config decides at once, in the scripts and in validate."""
    import shutil

    import phase2_intermediate
    from xstilts import command

    p1 = tmp_path / "p1"
    shutil.copytree(tiny_phase1, p1)
    config = json.loads((p1 / "config.json").read_text())
    (p1 / "config.json").write_text(json.dumps({**config, "model_type": "deberta-v2"}))
    out = tmp_path / "out"
    args = ["recipes/phase3/panx.yaml" if how != "phase2" else "recipes/phase2/mnli.yaml", f"input={p1}",
            f"output={out}", "train.precision=fp16"]
    main = {"validate": lambda a: command.main(["validate", "phase3", *a]), "phase3": phase3_target.main,
            "phase2": phase2_intermediate.main}[how]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "learns nothing under fp16" in err and "train.precision=bf16" in err and "Traceback" not in err
    assert not out.exists()
    if how == "validate":  # bf16 is fine, and so is fp16 for a family that trains in it
        assert main([*args[:-1], "train.precision=bf16"]) == 0
        (p1 / "config.json").write_text(json.dumps({**config, "model_type": "modernbert"}))
        assert main(args) == 0


def test_the_attention_facts_are_what_transformers_has():
    """The table said sdpa for DeBERTa-v2 (transformers has only its own attention) and no flash_attention_2 for
    BERT, RoBERTa and XLM-R (transformers 5 has it): each family's kernels are read off its model class here."""
    from transformers import AutoConfig, AutoModel

    for fam in families.FAMILIES.values():
        cls = AutoModel._model_mapping[type(AutoConfig.for_model(fam.model_type))]
        assert ("sdpa" in fam.attention) == bool(getattr(cls, "_supports_sdpa", False)), fam.model_type
        assert ("flash_attention_2" in fam.attention) == bool(getattr(cls, "_supports_flash_attn", False)), \
            fam.model_type
        assert "eager" in fam.attention, fam.model_type


def test_an_attention_the_family_lacks_is_refused_before_any_work(tiny_phase1, tmp_path, capsys):
    import shutil

    from xstilts import command

    p1 = tmp_path / "p1"
    shutil.copytree(tiny_phase1, p1)
    config = json.loads((p1 / "config.json").read_text())
    (p1 / "config.json").write_text(json.dumps({**config, "model_type": "deberta-v2"}))
    args = ["recipes/phase3/panx.yaml", f"input={p1}", f"output={tmp_path / 'out'}"]
    assert command.main(["validate", "phase3", *args, "train.attn_implementation=flash_attention_2"]) == 2
    assert "no such attention for deberta-v2 encoders; use train.attn_implementation=sdpa or eager" in \
        capsys.readouterr().err
    assert phase3_target.main([*args, "train.attn_implementation=flash_attention_2"]) == 2
    assert not (tmp_path / "out").exists()
    assert command.main(["validate", "phase3", *args]) == 0  # sdpa, the default, falls back to its own attention


@pytest.mark.parametrize("argv,problem", [
    (["phase3", "phase3/sib200", "data.source=embedded"], "task sib200 has no English train data there"),
    (["phase3", "phase3/xquad", "data.source=embedded", "data.train_task=tydiqa"],
     "task tydiqa has no English train data there"),
    (["phase2", "phase2/hellaswag", "data.source=embedded"], "task hellaswag has no English train data there")])
def test_a_source_without_the_training_data_is_refused_before_the_output_folder(tiny_phase1, tmp_path, capsys, argv,
                                                                                problem):
    """SIB-200 trained from the embedded quickstart data: validate said ok; the script made its output folder, loaded
    the model, then stopped at the data."""
    import phase2_intermediate
    from xstilts import command

    args = [*argv[1:], f"input={tiny_phase1}", f"output={tmp_path / 'out'}"]
    assert command.main(["validate", argv[0], *args]) == 2
    assert problem in capsys.readouterr().err
    script = phase3_target if argv[0] == "phase3" else phase2_intermediate
    assert script.main([f"recipes/{args[0]}.yaml", *args[1:]]) == 2
    assert problem in capsys.readouterr().err and not (tmp_path / "out").exists()
    # The dev split standing in for training (data.train_split=validation) is all that is read then.
    if argv[1] == "phase3/xquad":
        assert command.main(["validate", "phase3", *args, "data.train_split=validation"]) == 0


def test_a_sweep_target_without_its_training_data_in_the_source_is_refused_at_planning(capsys):
    from xstilts import sweep

    assert sweep.main(["recipes/sweeps/tiny_grid.yaml", "--dry-run", "runs=/nonexistent/r", "results=/nonexistent/s",
                       "targets.sib={recipe: recipes/phase3/sib200.yaml}"]) == 2
    assert "data.source=embedded: task sib200 has no English train data there" in capsys.readouterr().err
