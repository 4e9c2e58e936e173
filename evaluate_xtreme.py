"""Zero-shot evaluation in every language of a task; one JSON per task in the xstilts results schema.

    python evaluate_xtreme.py input=runs/p3-xlmr-mnli-xnli output=results/xlmr-mnli
    python evaluate_xtreme.py recipes/eval/default.yaml input=runs/p3-x output=results/x languages=[de,zh] split=validation
    python evaluate_xtreme.py input=runs/p3-x output=results/x export_predictions=submission/   # official layout too
    python evaluate_xtreme.py recipes/eval/xtreme_r.yaml input=runs/p3-x output=results/x   # XTREME-R language sets
    python evaluate_xtreme.py score predictions=DIR labels=DIR output=OUT.json [overwrite=true]   # official scorer
    python evaluate_xtreme.py benchmark results=DIR output=OUT.json   # XTREME / XTREME-R scores per run

Writes <output>/<task>.json with per-language metrics (percent), the task average and score, the split, the
checkpoint and the chain of recipes back to phase 1. Any language of the task's benchmark set left out (by
languages=, absent data or a rank) is named and the result marked partial; a partial result never counts towards a
benchmark score. A malformed data file is an error, never a skipped language.
"""
from __future__ import annotations

import sys

from transformers import AutoTokenizer

from xstilts import cli, distributed, evaluation, provenance, recipe, runfiles
from xstilts.config import EvalRecipe
from xstilts.log import log, quiet_libraries
from xstilts.modeling import check_max_length, load_model
from xstilts.results import write_result
from xstilts.tasks import check_languages, get_task


def _score(argv: list[str]) -> int:
    from xstilts.submission import score_command  # deferred: only this subcommand needs it

    return score_command(argv)


def _benchmark(argv: list[str]) -> int:
    from xstilts.report import benchmark_command  # deferred: pandas only for this subcommand

    return benchmark_command(argv)


def _main(argv: list[str]) -> int:
    if argv and argv[0] == "score":
        return _score(argv[1:])
    if argv and argv[0] == "benchmark":
        return _benchmark(argv[1:])
    cfg: EvalRecipe = recipe.load(EvalRecipe, argv)
    recipe.print_recipe(cfg, "evaluation")
    run_folder, phase = provenance.check_input(cfg.input, ("phase1", "phase2", "phase3"), "evaluation")
    run_chain = provenance.chain(run_folder)
    run_recipe = run_chain[0]["recipe"]
    task = get_task(cfg.task or run_recipe.get("task") or "")
    langs = check_languages(task, cfg.languages, cfg.benchmark)
    out_file = runfiles.check_output_location(cfg.output, [run_folder], inside_ok=True) / f"{task.name}.json"
    if cfg.export_predictions:
        runfiles.check_output_location(cfg.export_predictions, [run_folder], "export_predictions", inside_ok=True)
    runfiles.check_result_file(out_file, cfg.overwrite)
    # <task>.json.lock: two evaluations of one task into one folder cannot replace each other's result.
    precision = evaluation.effective_precision(cfg.precision)
    with runfiles.RunLock(out_file.parent, f"{out_file.name}.lock"), distributed.process_group() as (rank, size):
        runfiles.check_result_file(out_file, cfg.overwrite)  # again under the lock: another evaluation may have finished
        if cfg.export_predictions:  # the submission folder records which model wrote each task's files
            provenance.claim_submission(cfg.export_predictions, task.name, run_folder, cfg.overwrite)
        # Under torchrun / accelerate launch the languages are split over the ranks; rank 0 writes the result.
        if task.kind == "retrieval":
            from xstilts import retrieval_eval

            return retrieval_eval.run(cfg, task, langs, run_folder, out_file)
        if task.kind == "dual_encoder" and phase == "phase3":
            from xstilts import dual_encoder

            # One search space over all languages (LAReQA retrieves across languages): a single process's work.
            rc = dual_encoder.evaluate(cfg, task, langs, run_folder, out_file) if rank == 0 else 0
            distributed.barrier()
            return rc
        if phase != "phase3":
            raise runfiles.RunFolderError(f"input {run_folder} is a {phase} folder; {task.name} needs a phase-3 model "
                                    "(only retrieval tasks are evaluated on phase-1/2 encoders)")
        quiet_libraries()

        # Model and data: the phase-3 final/ folder (adapters load by themselves); the task's split in every language.
        checkpoint = provenance.model_dir(run_folder)
        device = distributed.device()
        model = load_model(checkpoint).to(device)
        evaluation.autocast_encoder(model.encoder, precision)
        tokenizer = AutoTokenizer.from_pretrained(checkpoint)
        max_length = cfg.max_length or (run_recipe.get("train") or {}).get("max_length", 128)
        check_max_length(checkpoint, max_length, "max_length" if cfg.max_length else "the phase-3 train.max_length")
        # A model trained on the English validation split (stand-in training) is scored on rows it never saw.
        windows = evaluation.stand_in_windows(run_chain, task) if cfg.split == "validation" else []
        rows, missing, notes = evaluation.load_eval_rows(task, cfg.split, cfg.data.source, cfg.data.path, langs,
                                                         explicit=cfg.languages is not None,
                                                         limit=None if windows else cfg.data.max_eval_samples)
        if windows:
            rows, note = evaluation.drop_seen_rows(rows, windows, cfg.data.max_eval_samples)
            notes.append(note)
            log(note)
        if precision != "fp32":
            notes.append(f"forward passes under {precision} autocast (evaluation precision={cfg.precision})")

        # Zero-shot predictions and metrics per language (this rank's share of the languages).
        mine, figures = {}, {}
        for lang in distributed.shard(list(rows), rank, size):
            metrics, preds, figures[lang] = evaluation.evaluate_language(model, tokenizer, task, rows[lang], lang,
                                                                         max_length, cfg.batch_size, device)
            mine[lang] = metrics
            log(f"{task.name} {lang}: " + "  ".join(f"{k} {v:.2f}" for k, v in metrics.items() if k != "n"),
                    every_rank=True)
            if cfg.export_predictions:
                evaluation.export_rows_predictions(task, lang, rows[lang], preds, cfg.export_predictions)
        parts = distributed.gather((mine, figures))
        languages = distributed.merge_in_order([p[0] for p in parts], list(rows))
        reliability = distributed.merge_in_order([p[1] for p in parts], list(rows))

        if rank == 0:
            result = evaluation.build_result(task, languages, missing, cfg.split, cfg.data.source, checkpoint,
                                             run_folder, notes, benchmark=cfg.benchmark, reliability=reliability,
                                             chance=evaluation.chance_score(task, languages, rows))
            write_result(out_file, result)
            log(f"{task.name}: score {result.score:.2f} over {len(languages)} languages"
                    + (f" (partial: missing {' '.join(result.missing_languages)})" if result.partial else "")
                    + f" -> {out_file}")
        distributed.barrier()  # no rank returns before the result exists (the next command of a chain reads it)
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli.run(_main, argv, "evaluate_xtreme.py", __doc__)


if __name__ == "__main__":
    sys.exit(main())
