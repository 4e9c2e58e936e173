"""Phase 2: English intermediate-task training of a phase-1 encoder (one task, or several with one head each).

    python phase2_intermediate.py recipes/phase2/mnli.yaml input=runs/p1-xlmr output=runs/p2-xlmr-mnli
    python phase2_intermediate.py recipes/phase2/anli_plus.yaml input=runs/p1-roberta output=runs/p2-roberta-anli
    python phase2_intermediate.py recipes/quickstart/phase2_mnli.yaml lora.r=8     # LoRA instead of full training
    python phase2_intermediate.py recipes/phase2/mnli_mlm.yaml input=... output=... mlm.files=[wiki.de.txt,wiki.zh.txt]

Selection on English dev only: every train.eval_steps the dev score is computed and the best weights are reloaded at
the end. Writes final/ (encoder + heads, loadable by phase 3), metrics.json (dev metrics, cost), then DONE.
An interrupted run resumes from its last checkpoint when the same command is run again.
"""
from __future__ import annotations

import sys
from pathlib import Path

from xstilts import cli, preflight, provenance, recipe, runfiles
from xstilts.config import Phase2Recipe
from xstilts.log import dev_line, log
from xstilts.tasks import get_task


def _main(argv: list[str]) -> int:
    cfg = recipe.load(Phase2Recipe, argv)
    recipe.print_recipe(cfg, "phase2")
    parent, parent_phase = provenance.check_input(cfg.input, ("phase1", "phase2"), "phase 2")
    src = provenance.model_dir(parent)
    # mDeBERTa under fp16, or an attention kernel the family lacks: refused at once
    preflight.check_training_precision(src, cfg.train.precision, cfg.train.attn_implementation)
    preflight.check_training_sources(cfg)  # before the output folder

    # torch, transformers and datasets only now: a recipe or input problem above is reported in well under a second.
    from transformers import AutoTokenizer, set_seed

    from xstilts import data, pipeline
    from xstilts.log import quiet_libraries
    from xstilts.modelfolder import check_model_folder
    from xstilts.sampling import multitask_dataloader_factory

    check_model_folder(src, "input model", max_length=cfg.train.max_length)  # before the output folder is touched
    out = Path(cfg.output)
    state = provenance.prepare_output(out, "phase2", cfg, parent)
    quiet_libraries()
    with runfiles.RunLock(out):
        runfiles.claim_run(out, "phase2")  # first: the manifest proves what in the folder is this run's
        provenance.write_run_header(out, "phase2", cfg, parent=parent)
        log(f"output {out} ({state}); input {parent} ({parent_phase})")
        set_seed(cfg.train.seed)

        # Model: the parent's encoder, a fresh head per intermediate task (a previous phase's heads are dropped).
        tokenizer = AutoTokenizer.from_pretrained(src)
        # Label sets built from training data (CCG supertags) are fixed before the heads are sized.
        tasks = [data.with_label_set(get_task(name), cfg.data.path) for name in cfg.tasks]
        for t in tasks:
            if t.labels_from_train:
                log(f"{t.name}: {len(t.label_names)} labels from its training data (recorded in heads.json)")
        encoder, notes = pipeline.start_encoder(src, cfg.lora, handover="merge",
                                                attn_implementation=cfg.train.attn_implementation)
        # loaded: task -> where its head weights came from
        model, loaded = pipeline.model_with_heads(encoder, tasks, src, cfg)
        notes += list(loaded.values())
        for note in notes + [f"fresh head for {t.name} ({t.task_type})" for t in tasks if t.name not in loaded]:
            log(note)

        # Data: English training and dev sets of every task, tokenised (each as its task type reads it).
        train_features, dev_sets, sizes = [], [], {}
        for task_id, task in enumerate(tasks):
            feats, dev = pipeline.load_task_data(task, task_id, cfg, tokenizer)
            train_features.extend(feats)
            dev_sets.append(dev)
            sizes[task.name] = len(feats)

        # Train (one task per optimizer step when multi-task), keep the best dev weights, save final/.
        # A task with a fixed share (the mlm pseudo-task: mlm.weight) is drawn for that share of the steps, whatever
        # its number of lines.
        fixed = pipeline.sampling_shares(tasks, cfg)
        factory = multitask_dataloader_factory(cfg.sampler, sizes, cfg.train, fixed) if len(tasks) > 1 else None
        result = pipeline.train_and_save(model, tokenizer, train_features, dev_sets, cfg.train, out, tasks,
                                         merge_adapter=False, train_dataloader_factory=factory,
                                         extra_metrics={"weights": notes, "train_sizes": sizes})
        log(f"best English dev: {dev_line(result['dev'])}")
        runfiles.mark_finished(out, {"phase": "phase2", "tasks": cfg.tasks, "dev_score": result["dev"]["score"]})
    log(f"done: {out / 'final'}; next: {cli.next_command('phase2', out, cfg)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli.run(_main, argv, "phase2_intermediate.py", __doc__, Phase2Recipe)


if __name__ == "__main__":
    sys.exit(main())
