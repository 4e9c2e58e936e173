"""Phase 1: a pretrained masked-LM encoder in, a self-contained encoder folder out.

    python phase1_pretrained.py recipes/phase1/tiny_multilingual.yaml output=runs/p1-tiny
    python phase1_pretrained.py recipes/phase1/hub.yaml model=xlm-roberta-large name=xlmr-large kind=multilingual \\
        output=runs/p1-xlmr
    python phase1_pretrained.py recipes/phase1/local.yaml model=/models/all-MiniLM-L6-v2 kind=english \\
        output=runs/p1-minilm

The folder loads with AutoModel / AutoTokenizer (safetensors only) and records, in encoder_stats.json, the source,
parameter count, vocabulary size and, per language of the embedded sample, the tokenizer's unknown-token rate and
tokens per word: the first evidence for a multilingual-vs-English-only comparison.
"""
from __future__ import annotations

import sys
from pathlib import Path

from xstilts import cli, provenance, recipe, runfiles
from xstilts.config import Phase1Recipe
from xstilts.log import log


def _main(argv: list[str]) -> int:
    cfg = recipe.load(Phase1Recipe, argv)
    recipe.print_recipe(cfg, "phase1")

    # torch and transformers only now: a recipe problem above is reported in well under a second.
    from xstilts import distributed, encoders
    from xstilts.log import quiet_libraries

    rank, _ = distributed.world()
    with distributed.process_group():
        # One write: under torchrun / accelerate launch rank 0 imports the encoder while the other ranks wait, so
        # that no rank goes on to a next command (phase 2 of the same chain) before the folder is finished.
        if rank == 0:
            # A local model folder is checked before the output folder is touched.
            encoders.check_source(cfg.source, cfg.model, cfg.trust_remote_code)
            out = Path(cfg.output)
            state = provenance.prepare_output(out, "phase1", cfg, parent=None)
            quiet_libraries()
            with runfiles.RunLock(out):
                runfiles.claim_run(out, "phase1")  # first: the manifest proves what in the folder is this run's
                provenance.write_run_header(out, "phase1", cfg, parent=None)
                log(f"output {out} ({state})")

                # Weights: built offline from a config, or re-saved from the Hub / a folder as safetensors.
                if cfg.source == "tiny":
                    model, tokenizer = encoders.build_tiny_encoder(cfg.tiny, cfg.seed)
                    name = cfg.name or f"tiny-{cfg.tiny.family}-{'en' if cfg.tiny.languages == ['en'] else 'multi'}"
                    origin = {"source": "tiny", "config": recipe.to_dict(cfg.tiny)}
                else:
                    model, tokenizer = encoders.load_pretrained(cfg.model, cfg.trust_remote_code)
                    name = cfg.name or Path(cfg.model.rstrip("/")).name
                    origin = {"source": cfg.source, "model": cfg.model}
                encoders.save_encoder(model, tokenizer, out)

                # Tokenizer evidence per language, on held-out embedded sample sentences.
                stats = {lang: encoders.tokenizer_stats(tokenizer, encoders.corpus_lines(lang, sample=True))
                         for lang in cfg.stats_languages}
                for lang, s in stats.items():
                    log(f"{lang}: unknown tokens {s['unk_rate']:.2f}%  tokens/word {s['tokens_per_word']:.2f}")
                n_params = sum(p.numel() for p in model.parameters())
                runfiles.atomic_write_json(out / "encoder_stats.json", {
                    "name": name, "kind": cfg.kind, **origin, "parameters": n_params, "vocab_size": len(tokenizer),
                    "architecture": type(model).__name__, "hidden_size": model.config.hidden_size,
                    "num_layers": model.config.num_hidden_layers, "languages": stats,
                })
                runfiles.mark_finished(out, {"phase": "phase1", "name": name})
            log(f"done: encoder {name} ({n_params:,} parameters) in {out}")
            log(f"next: {cli.next_command('phase1', out, cfg)}")
        distributed.barrier()
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli.run(_main, argv, "phase1_pretrained.py", __doc__, Phase1Recipe)


if __name__ == "__main__":
    sys.exit(main())
