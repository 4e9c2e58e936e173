"""The paper's claims judged on a results folder: each verdict follows from effects beyond noise on learned targets."""
from __future__ import annotations

import json

import pytest

from xstilts import analysis, claims, report
from xstilts.results import RunInfo, TaskResult, average_metrics, task_score, write_result

ENV = {"cpu": "Test CPU", "cpu_count": 2}


def _put(root, task, encoder, kind, inter, seed, score, half=1.0, last=None, train_task=None):
    """One result: ``score`` in two languages, an interval of +-``half`` over examples; phase-3 chains for trained
    targets (seed given), a phase-1/2 chain for retrieval (seed None)."""
    languages = {lang: {"accuracy": score, "n": 100.0} for lang in ("de", "zh")}
    if last is not None:
        for m in languages.values():
            m["accuracy_last_layer"] = last
    average = average_metrics(languages)
    p3 = {"phase": "phase3", "folder": f"/r/p3-{encoder}-{inter}-{task}-{seed}", "environment": ENV,
          "recipe": {"task": task, "data": {"train_task": train_task}}, "done": {"wall_time_s": 1.0}}
    p1 = {"phase": "phase1", "folder": f"/r/p1-{encoder}", "recipe": {}, "environment": ENV, "done": {}}
    chain = [p3, p1] if seed is not None else [p1]
    result = TaskResult(task=task, task_type="x", split="validation", data_source="xtreme", main_metric="accuracy",
                        languages=languages, average=average, score=task_score("accuracy", average),
                        missing_languages=[], partial=False, checkpoint=f"{encoder}{inter}{task}{seed}",
                        run=RunInfo(encoder, kind, inter, task, seed), chain=chain, created="2026-01-01",
                        version="0", environment=ENV, wall_time_s=1.0, score_ci95=[score - half, score + half])
    write_result(root / f"{encoder}-{inter}-{seed}" / f"{task}.json", result)


def _grid(root, xnli_qa=(50.0, 51.0, 49.5), pawsx=60.0):
    for seed, jitter in zip((1, 2, 3), (0.0, 0.5, -0.5), strict=True):
        for enc, kind, base in (("e5", "multilingual", 50.0), ("minilm", "english", 35.0)):
            _put(root, "xnli", enc, kind, "none", seed, base + jitter)
            _put(root, "panx", enc, kind, "none", seed, base + jitter)
            _put(root, "panx", enc, kind, "tydiqa", seed, base + 8 + jitter)   # clearly up
            _put(root, "panx", enc, kind, "siqa", seed, base - 8 + jitter)     # clearly down
            _put(root, "pawsx", enc, kind, "none", seed, pawsx + jitter)
            _put(root, "pawsx", enc, kind, "tydiqa", seed, pawsx + 10 + jitter)
            _put(root, "xquad", enc, kind, "none", seed, 30 + jitter, train_task="tydiqa")
            _put(root, "xquad", enc, kind, "tydiqa", seed, 45 + jitter, train_task="tydiqa")
        _put(root, "xnli", "e5", "multilingual", "tydiqa", seed, xnli_qa[seed - 1])
    for enc, kind, scores in (("e5", "multilingual", {"none": 60.0, "tydiqa": 75.0, "siqa": 60.5}),
                              ("minilm", "english", {"none": 5.0, "tydiqa": 5.2, "siqa": 4.9})):
        for inter, score in scores.items():
            _put(root, "tatoeba", enc, kind, inter, None, score, half=0.5, last=score - 20)


def _floors(root, text):
    (root / "floors.yaml").write_text(text)
    return analysis.read_floors(root / "floors.yaml")


def test_each_claim_follows_from_effects_beyond_noise_on_learned_targets(tmp_path):
    _grid(tmp_path)
    summary = report.summarize(tmp_path, floors=_floors(tmp_path, "pawsx: {min: 68}\n"))
    judged = {c["claim"].split(" (")[0].split(",")[0]: c for c in summary["claims"]}
    helps = next(c for c in summary["claims"] if c["claim"].startswith("English intermediate"))
    # tydiqa: up on panx, within noise on xnli; pawsx not learned, xquad the same task: left out and named.
    # siqa: down on panx only. One family for, one against: inconclusive.
    assert helps["verdict"] == claims.INCONCLUSIVE
    tydiqa = next(line for line in helps["evidence"] if line.startswith("tydiqa"))
    assert "1 up, 0 down, 1 within noise of 2 learned targets" in tydiqa
    assert "pawsx (not learned at this budget)" in tydiqa and "xquad (same task)" in tydiqa
    # Tatoeba +15 beyond noise for tydiqa, more than its largest learned-target change (+8): gains most.
    retrieval = next(c for c in summary["claims"] if c["claim"].startswith("Sentence retrieval"))
    assert retrieval["verdict"] == claims.SUPPORTED, retrieval
    xnli = next(c for c in summary["claims"] if c["claim"].startswith("XNLI"))
    assert xnli["verdict"] == claims.SUPPORTED  # tydiqa on xnli: within noise
    multi = next(c for c in summary["claims"] if c["claim"].startswith("A multilingual"))
    assert multi["verdict"] == claims.SUPPORTED
    assert not any(line.startswith("pawsx") for line in multi["evidence"])  # below its floor: no claim from it
    assert judged  # every claim is rendered with its verdict and numbers
    text = report.render(summary)
    assert "- **supported**: Sentence retrieval" in text and "  - e5 tydiqa: tatoeba +15.0" in text


def test_encoders_scored_on_other_languages_are_named_and_not_compared(tmp_path):
    """Multilingual vs English-only compares cells that are means over languages: an English-only run scored on fewer
    languages (a failed download, a narrower eval recipe) is named, not counted as evidence either way."""
    _grid(tmp_path)
    for seed in (1, 2, 3):  # minilm's panx runs lose zh: its mean is no longer over the multilingual's languages
        path = tmp_path / f"minilm-none-{seed}" / "panx.json"
        data = json.loads(path.read_text())
        data["languages"].pop("zh")
        path.write_text(json.dumps(data))
    summary = report.summarize(tmp_path)
    multi = next(c for c in summary["claims"] if c["claim"].startswith("A multilingual"))
    panx = [line for line in multi["evidence"] if line.startswith("panx")]
    assert panx == ["panx: e5 vs minilm: other languages, scored on different languages (only the cell: zh): not "
                    "compared; re-evaluate both on the same languages"]
    assert any(line.startswith("xnli: e5") and line.endswith(" up") for line in multi["evidence"])
    assert multi["verdict"] == claims.SUPPORTED  # xnli still speaks for it


def test_an_xnli_gain_beyond_noise_contradicts_and_a_not_learned_xnli_is_inconclusive(tmp_path):
    _grid(tmp_path / "a", xnli_qa=(58.0, 59.0, 58.5))
    xnli = next(c for c in report.summarize(tmp_path / "a")["claims"] if c["claim"].startswith("XNLI"))
    assert xnli["verdict"] == claims.CONTRADICTED
    _grid(tmp_path / "b", xnli_qa=(58.0, 59.0, 58.5))
    summary = report.summarize(tmp_path / "b", floors=_floors(tmp_path, "xnli: {min: 55}\n"))
    xnli = next(c for c in summary["claims"] if c["claim"].startswith("XNLI"))
    assert xnli["verdict"] == claims.INCONCLUSIVE and "not learned at this budget" in xnli["evidence"][-1]


def test_the_last_layer_is_its_own_row_and_same_task_cells_are_never_effects(tmp_path):
    _grid(tmp_path)
    summary = report.summarize(tmp_path)
    rows = {r["task"]: r for r in summary["grid"]["rows"]}
    assert rows["tatoeba (last layer)"]["cells"][0] == 40.0 and rows["tatoeba"]["cells"][0] == 60.0
    verdicts = {(e["encoder"], e["intermediate"], e["task"]): e["verdict"] for e in summary["effects"]}
    assert verdicts[("e5", "tydiqa", "xquad")] == analysis.SAME_TASK  # xquad was trained on tydiqa's English rows
    assert verdicts[("e5", "tydiqa", "panx")] == "up" and verdicts[("e5", "siqa", "panx")] == "down"


def test_the_viewer_marks_same_task_cells_instead_of_judging_them(tmp_path):
    from xstilts.results import find_results
    from xstilts.view import loading

    _grid(tmp_path)
    table = loading.overview_table([r for _, r in find_results(tmp_path)[0]], benchmark=None)
    status = {(r.encoder, r.intermediate, r.task): r.status for r in table.itertuples()}
    assert status[("e5", "tydiqa", "xquad")] == loading.STATUS_SAME_TASK
    assert status[("e5", "tydiqa", "panx")] == loading.STATUS_CHANGE


def test_one_helpful_family_among_families_within_noise_is_not_support():
    def effect(inter, task, verdict, delta):
        return {"encoder": "e5", "intermediate": inter, "task": task, "verdict": verdict, "delta": delta,
                "low": delta - 1, "high": delta + 1}

    found = [effect("xnli", "panx", "up", 3.0),
             effect("siqa", "panx", "within noise", 0.5), effect("siqa", "xnli", "within noise", 0.2),
             effect("tydiqa", "panx", "within noise", -1.0)]
    judged = claims.intermediate_tasks_help(found, ["e5"])
    assert judged["verdict"] == claims.INCONCLUSIVE  # 1 family of 3 supports, none against: not a majority
    assert claims.intermediate_tasks_help(found[:1] + found[3:] + [effect("tydiqa", "xnli", "up", 2.0)],
                                          ["e5"])["verdict"] == claims.SUPPORTED
    assert claims._verdict(0, 2, 3) == claims.CONTRADICTED and claims._verdict(1, 1, 2) == claims.INCONCLUSIVE


def test_xnli_gains_little_only_when_the_interval_rules_out_a_sizeable_gain():
    def effect(high, verdict="within noise"):
        return {"encoder": "e5", "intermediate": "siqa", "task": "xnli", "verdict": verdict, "delta": 0.0,
                "low": -high, "high": high}

    assert claims.xnli_gains_little([effect(1.5)], ["e5"])["verdict"] == claims.SUPPORTED
    assert claims.xnli_gains_little([effect(4.6)], ["e5"])["verdict"] == claims.INCONCLUSIVE  # a 4.6 gain not ruled out
    assert claims.xnli_gains_little([effect(4.6), effect(6.0, "up")], ["e5"])["verdict"] == claims.CONTRADICTED


def test_only_the_paper_s_three_families_vote_in_the_family_claim(tmp_path):
    """Issue 25: an intermediate outside SQuAD/MNLI/HellaSwag types (here "ccg", and a multi-task mixture) is listed
    but does not vote: two such intermediates going down must not contradict the claim about the families."""
    for seed, jitter in zip((1, 2, 3), (0.0, 0.5, -0.5), strict=True):
        _put(tmp_path, "panx", "e5", "multilingual", "none", seed, 50.0 + jitter)
        _put(tmp_path, "panx", "e5", "multilingual", "tydiqa", seed, 58.0 + jitter)  # a family, up
        _put(tmp_path, "panx", "e5", "multilingual", "ccg", seed, 40.0 + jitter)  # no family, down
        _put(tmp_path, "panx", "e5", "multilingual", "multi:ccg+siqa", seed, 40.0 + jitter)  # mixture, down
    summary = report.summarize(tmp_path)
    helps = next(c for c in summary["claims"] if c["claim"].startswith("English intermediate"))
    assert helps["verdict"] == claims.SUPPORTED, helps
    assert any(line.startswith("ccg (not one of the paper's families: not counted") for line in helps["evidence"])


def test_same_task_is_found_inside_multi_task_and_sequential_intermediates(tmp_path):
    """An intermediate that trained on the target's own data as one part of a mixture or a sequence is "same task"
    (more training on the target, not transfer), in the report and in the viewer."""
    from xstilts.results import read_result, same_task
    from xstilts.view import loading

    assert same_task("multi:xnli+siqa", {"xnli"}) and same_task("siqa>xnli", {"xnli"})
    assert same_task("xnli [train.lr=1] +LoRA", {"xnli"}) and not same_task("multi:siqa+tydiqa", {"xnli"})
    assert not same_task("none", {"none"})
    for seed in (1, 2):
        _put(tmp_path, "xnli", "e5", "multilingual", "none", seed, 50.0 + seed)
        _put(tmp_path, "xnli", "e5", "multilingual", "multi:xnli+siqa", seed, 60.0 + seed)
        _put(tmp_path, "xnli", "e5", "multilingual", "siqa>xnli", seed, 60.0 + seed)
    verdicts = {e["intermediate"]: e["verdict"] for e in report.summarize(tmp_path)["effects"]}
    assert verdicts == {"multi:xnli+siqa": analysis.SAME_TASK, "siqa>xnli": analysis.SAME_TASK}
    results = [read_result(p) for p in tmp_path.rglob("xnli.json")]
    table = loading.overview_table(results, benchmark=None).set_index("intermediate")
    assert table.loc["multi:xnli+siqa", "status"] == table.loc["siqa>xnli", "status"] == loading.STATUS_SAME_TASK


def test_a_floors_value_that_matches_nothing_is_refused_not_read_as_not_learned(tmp_path, capsys):
    """Issue 25: a typo in a floors value (metric, encoder kind, intermediate) silently marked a learned target "not
    learned". Each is now one line naming the value and what is allowed, exit 2."""
    import pytest

    from xstilts.recipe import RecipeError

    _grid(tmp_path)
    for text, needle in (("xnli: {min: 40, encoder_kind: multilingal}\n", "encoder_kind 'multilingal'"),
                         ("panx: {min: 40, metric: f11}\n", "metric 'f11'"),
                         ("xnli: {min: 40, intermediate: nnone}\n", "intermediate 'nnone'")):
        (tmp_path / "floors.yaml").write_text(text)
        assert report.main([str(tmp_path), "--floors", str(tmp_path / "floors.yaml")]) == 2
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    # a metric of the task that these results happen not to hold: refused when checked, not "not learned"
    floors = _floors(tmp_path, "panx: {min: 40, metric: precision}\n")
    with pytest.raises(RecipeError, match="in none of its results"):
        report.summarize(tmp_path, floors=floors)
    assert report.summarize(tmp_path, floors=_floors(tmp_path, "xnli: {min: 40, metric: accuracy}\n"))["floors"][0][
        "met"]


def test_intermediate_floors_pawsx_on_dev_and_retrieval_untestable_on_the_committed_mini_grid():
    """The archived grid before issue 29 with its floors: every intermediate is below its English dev floor (SIQA
    47 < 55, NLI 48 < 60, QA F1 35.6 < 40), so none of its effects is judged; PAWS-X is judged on English dev; the
    retrieval claim is not testable with contrastive encoders only."""
    from xstilts import report

    floors = "results/archive/mini-before-issue29/floors.yaml"
    s = report.summarize("results/archive/mini-before-issue29", floors=analysis.read_floors(floors),
                         intermediate_floors=analysis.read_intermediate_floors(floors))
    e5 = {c["intermediate"]: c for c in s["intermediate_floors"] if c["encoder"] == "multilingual-e5-small"}
    assert {k: round(c["measured"], 1) for k, c in e5.items()} == {"siqa": 47.0, "xnli": 48.0, "tydiqa": 35.6}
    assert not any(c["met"] for c in s["intermediate_floors"])
    judged = [e for e in s["effects"] if e["verdict"] in ("up", "down", "within noise")]
    assert judged == [] and any(e["verdict"] == analysis.INTERMEDIATE_NOT_LEARNED for e in s["effects"])
    pawsx = next(f for f in s["floors"] if f["task"] == "pawsx")
    assert pawsx["metric"] == "English dev score" and pawsx["measured"] == pytest.approx(55.5)
    verdicts = {c["claim"].split(" (")[0]: c["verdict"] for c in s["claims"]}
    assert verdicts["Sentence retrieval"] == claims.NOT_TESTABLE
    # An MLM-only encoder in the grid makes it testable again.
    again = claims.retrieval_gains_most(s["effects"], ["multilingual-e5-small"], {"multilingual-e5-small": False})
    assert again["verdict"] != claims.NOT_TESTABLE


def test_the_viewer_marks_the_rows_whose_intermediate_the_report_calls_not_learned():
    from xstilts.results import find_results
    from xstilts.view import loading

    floors = "results/archive/mini-before-issue29/floors.yaml"
    results = [r for _, r in find_results("results/archive/mini-before-issue29")[0]]
    weak, problem = loading.intermediate_floor_verdicts(results, floors)
    assert problem == "" and weak[("multilingual-e5-small", "siqa")] == "English dev 47.0 < 55"
    table = loading.overview_table(results, weak_intermediates=weak, benchmark=None)
    marked = {(r.encoder, r.intermediate, r.task) for r in table.itertuples()
              if r.why.startswith(analysis.INTERMEDIATE_NOT_LEARNED)}
    s = report.summarize("results/archive/mini-before-issue29",
                         intermediate_floors=analysis.read_intermediate_floors(floors))
    called = {(e["encoder"], e["intermediate"], e["task"]) for e in s["effects"]
              if e["verdict"] == analysis.INTERMEDIATE_NOT_LEARNED and " (" not in e["task"]}
    assert marked == called and marked
