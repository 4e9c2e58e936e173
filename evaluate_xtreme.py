"""Zero-shot evaluation in every language of a task; one JSON per task in the xstilts results schema.

    python evaluate_xtreme.py input=runs/p3-xlmr-mnli-xnli output=results/xlmr-mnli
    python evaluate_xtreme.py recipes/eval/default.yaml input=runs/p3-x output=results/x languages=[de,zh] \\
        split=validation
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

import dataclasses
import sys

from xstilts import cli, preflight, provenance, recipe, runfiles
from xstilts.config import EvalRecipe
from xstilts.errors import DataError
from xstilts.log import log


def _score(argv: list[str]) -> int:
    from xstilts.submission import score_command  # deferred: only this subcommand needs it

    return score_command(argv)


def _benchmark(argv: list[str]) -> int:
    from xstilts.report import benchmark_command  # deferred: pandas only for this subcommand

    return benchmark_command(argv)


def _main(argv: list[str]) -> int:
    if argv and argv[0] in ("score", "benchmark") and any(a in ("-h", "--help") for a in argv[1:]):
        print(cli.subcommand_help(__doc__, argv[0]), end="")
        return 0
    if argv and argv[0] == "score":
        return _score(argv[1:])
    if argv and argv[0] == "benchmark":
        return _benchmark(argv[1:])
    raw, source = recipe.arguments(argv)
    # Recipe, input run, task, languages, output and result file: the checks `xstilts validate evaluate` shares.
    plan = preflight.check_evaluation(raw, source)
    cfg, run_folder, run_chain, trained, task, langs, out_file = (
        plan.cfg, plan.run_folder, plan.chain, plan.trained, plan.task, plan.languages, plan.out_file)
    # The chain the result records, with the fingerprints of its runs: build_result checks them unchanged when it
    # writes, so a run replaced meanwhile is never recorded as the one scored (the recipes checked above included).
    scored = provenance.scored_chain(run_folder)
    if [e.get("recipe") for e in scored[0]] != [e.get("recipe") for e in run_chain]:
        raise runfiles.RunFolderError(f"{run_folder} changed while it was being checked; evaluate it again once no "
                                      "run writes there")
    recipe.print_recipe(cfg, "evaluation")
    if plan.inherited:
        log(plan.inherited)

    # torch, transformers and datasets only now: a recipe or input problem above is reported in well under a second.
    from xstilts import distributed, evaluation, modelcard, typespecs
    from xstilts.log import quiet_libraries
    from xstilts.results import write_result
    from xstilts.tasktypes.common import Evaluated

    task_type = evaluation.evaluated_type(task, cfg, trained)  # its settings: the phase-3 recipe's, or cfg's
    checkpoint = preflight.check_model(plan)  # before any data is read (shared with `xstilts validate` too)
    # <task>.json.lock: two evaluations of one task into one folder cannot replace each other's result. What this
    # evaluation writes is claimed in the folders' manifests once the guards let it write there (see runfiles.claim).
    runfiles.claim(out_file.parent, f"{out_file.name}.lock")
    with runfiles.RunLock(out_file.parent, f"{out_file.name}.lock"), distributed.process_group() as (rank, size):
        # again under the lock: another evaluation may have finished
        runfiles.check_result_file(out_file, cfg.overwrite)
        runfiles.claim(out_file.parent, out_file.name)
        if cfg.export_predictions:  # the submission folder records which model wrote each task's files
            provenance.claim_submission(cfg.export_predictions, task.name, run_folder, cfg.overwrite)
            for name in (runfiles.SUBMISSION_MARKER, f"{runfiles.SUBMISSION_MARKER}.lock"):
                runfiles.claim(cfg.export_predictions, name)
            # A task's folder of the official layout holds its prediction files only (claim_submission keeps one
            # model's files in it): a tree, so no manifest of ours ends up in what is uploaded to the leaderboard.
            runfiles.claim(cfg.export_predictions, task.name, runfiles.TREE)
        quiet_libraries()

        # This rank's languages: under torchrun / accelerate launch they are split over the ranks (rank 0 writes the
        # result); a pooled task type (one search space over all languages) is a single process's work.
        mine = (langs if rank == 0 else []) if task.spec.pooled else distributed.shard(langs, rank, size)
        # A model trained on the English validation split (stand-in training) is scored on rows it never saw.
        windows = evaluation.stand_in_windows(run_chain, task) if cfg.split == "validation" else []
        rows, missing, lang_notes = evaluation.load_eval_rows(task, cfg, mine, explicit=cfg.languages is not None,
                                                              limit=None if windows else cfg.data.max_eval_samples)
        notes = []
        if windows and rows:
            rows, note = evaluation.drop_seen_rows(rows, windows, cfg.data.max_eval_samples)
            notes.append(note)
            log(note)

        # The model as the task type evaluates it (task heads, or the bare encoder), then each language's metrics.
        evaluated = Evaluated()
        if rows:
            inputs = evaluation.load_evaluated(task, checkpoint, cfg, trained, distributed.device())
            evaluated = task_type.evaluate(inputs, rows)
            if cfg.export_predictions:
                for lang, preds in evaluated.predictions.items():
                    evaluation.export_predictions(task_type, lang, rows[lang], preds, cfg.export_predictions)
        precision = evaluation.effective_precision(cfg.precision)
        if precision != "fp32" and task.spec.eval_model == "heads":
            notes.append(f"forward passes under {precision} autocast (evaluation precision={cfg.precision})")
        # This rank's share (with the floor each language's score is judged against); rank 0 gathers them in the
        # task's language order and writes the one result.
        share = evaluation.Share(
            evaluated.languages, evaluated.figures,
            {lang: typespecs.chance(task, {lang: m}, {lang: rows[lang]}) for lang, m in evaluated.languages.items()},
            missing, notes + evaluated.notes, lang_notes, evaluated.score, evaluated.weights)
        merged = evaluation.combine(distributed.gather(share), langs)
        if not merged.languages:
            raise DataError(f"task {task.name}: no evaluation data for any of {langs}")
        if rank == 0:
            result = evaluation.build_result(
                task, merged.languages, merged.missing, cfg.split, cfg.data.source, checkpoint, run_folder,
                merged.notes, benchmark=cfg.benchmark, reliability=merged.figures,
                chance=evaluation.mean_chance(merged.chance), score_weights=merged.weights, scored=scored)
            if merged.score is not None:
                result = dataclasses.replace(result, score=merged.score)
            write_result(out_file, result)
            modelcard.record_evaluation(run_folder, result)  # the phase-3 model card lists every evaluation of it
            log(f"{task.name}: score {result.score:.2f} over {len(merged.languages)} languages"
                + (f" (partial: missing {' '.join(result.missing_languages)})" if result.partial else "")
                + f" -> {out_file}")
            # The viewer command that shows it: --results is the folder above the result's own (<results>/<run>/).
            log(f"view: streamlit run viewer/app.py -- --results {out_file.parent.parent} --runs {run_folder.parent}")
        distributed.barrier()  # no rank returns before the result exists (the next command of a chain reads it)
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli.run(_main, argv, "evaluate_xtreme.py", __doc__, EvalRecipe)


if __name__ == "__main__":
    sys.exit(main())
