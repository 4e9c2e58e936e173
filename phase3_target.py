"""Phase 3: English training of a target task, from a phase-2 folder or directly from a phase-1 folder (the
no-intermediate baseline every comparison needs).

    python phase3_target.py recipes/phase3/xnli.yaml input=runs/p2-xlmr-mnli output=runs/p3-xlmr-mnli-xnli
    python phase3_target.py recipes/phase3/pawsx.yaml input=runs/p1-xlmr output=runs/p3-xlmr-none-pawsx

A fresh target head is trained on the task's English data; model selection uses English dev only (zero-shot).
Writes final/ (encoder + the target head), metrics.json and DONE; evaluate with evaluate_xtreme.py.
"""
from __future__ import annotations

import sys
from pathlib import Path

from xstilts import cli, preflight, provenance, recipe, runfiles
from xstilts.config import Phase3Recipe
from xstilts.log import dev_line, log
from xstilts.tasks import get_task


def _main(argv: list[str]) -> int:
    cfg = recipe.load(Phase3Recipe, argv)
    recipe.print_recipe(cfg, "phase3")
    parent, parent_phase = provenance.check_input(cfg.input, ("phase1", "phase2"), "phase 3")
    src = provenance.model_dir(parent)
    # mDeBERTa under fp16, or an attention kernel the family lacks: refused at once
    preflight.check_training_precision(src, cfg.train.precision, cfg.train.attn_implementation)
    preflight.check_training_sources(cfg)  # before the output folder

    # torch, transformers and datasets only now: a recipe or input problem above is reported in well under a second.
    from transformers import AutoTokenizer, set_seed

    from xstilts import modelcard, pipeline
    from xstilts.log import quiet_libraries
    from xstilts.modelfolder import check_model_folder, read_head_specs

    check_model_folder(src, "input model", max_length=cfg.train.max_length)  # before the output folder is touched
    out = Path(cfg.output)
    state = provenance.prepare_output(out, "phase3", cfg, parent)
    quiet_libraries()
    with runfiles.RunLock(out):
        runfiles.claim_run(out, "phase3")  # first: the manifest proves what in the folder is this run's
        provenance.write_run_header(out, "phase3", cfg, parent=parent)
        log(f"output {out} ({state}); input {parent} ({parent_phase})")
        set_seed(cfg.train.seed)

        # Model: the parent's encoder and a freshly initialised target head; intermediate heads are dropped.
        tokenizer = AutoTokenizer.from_pretrained(src)
        task = get_task(cfg.task)
        encoder, notes = pipeline.start_encoder(src, cfg.lora, cfg.adapter_handover,
                                                attn_implementation=cfg.train.attn_implementation)
        # The task type makes the head (a dual encoder's holds only the learned scale of its in-batch softmax).
        model, _ = pipeline.model_with_heads(encoder, [task], src, cfg)
        dropped = [h.task for h in read_head_specs(src)]
        notes += [f"fresh {task.task_type} head for {task.name}"]
        if dropped:
            notes.append(f"intermediate head(s) not used: {', '.join(dropped)}")
        for note in notes:
            log(note)

        # Data: the task's English training set and English dev (selection only).
        train_features, dev = pipeline.load_task_data(task, 0, cfg, tokenizer)

        result = pipeline.train_and_save(model, tokenizer, train_features, [dev], cfg.train, out, [task],
                                         merge_adapter=cfg.lora is None and cfg.adapter_handover == "merge",
                                         extra_metrics={"weights": notes, "task": task.name}, export_hf=True)
        log(f"best English dev: {dev_line(result['dev'])}")
        runfiles.mark_finished(out, {"phase": "phase3", "task": task.name, "dev_score": result["dev"]["score"]})
    modelcard.push(cfg, out)  # push_to_hub=true: final/ and its card to the Hub (an error names the command for later)
    log(f"done: {out / 'final'}; next: {cli.next_command('phase3', out, cfg)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli.run(_main, argv, "phase3_target.py", __doc__, Phase3Recipe)


if __name__ == "__main__":
    sys.exit(main())
