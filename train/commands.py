"""The training commands of the `factory` CLI: train, runs, eval, chat, and runs in `export`.

`register(app)` adds them to the main Typer app. Nothing here imports torch or transformers at
module level: `factory --help` and every non-training command stay fast and work without the
`[train]` extra, which the training commands ask for with an install hint.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from factory.errors import FactoryError

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
RunArg = Annotated[str, typer.Argument(help="A run id from `factory runs` (or a unique prefix).")]


def _cli() -> Any:
    from factory import cli

    return cli


def train_cmd(
    dataset: Annotated[str | None, typer.Option("--dataset", help="A frozen version: NAME@vN, NAME@latest or "
                                                   "NAME@<hash prefix>.")] = None,
    base_model: Annotated[str | None, typer.Option("--base-model", help="Hub id or local folder of the base "
                                                      "model (or base_model in the config).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="A train.toml; see --print-config.")] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="Optimizer steps (overrides epochs and "
                                                     "the config).")] = None,
    epochs: Annotated[float | None, typer.Option("--epochs", help="Epochs (overrides the config).")] = None,
    output_name: Annotated[str | None, typer.Option("--output-name", help="Names the run folder "
                                                       "(default: the dataset name and version).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Go on with the latest killed run of this dataset, base "
                                         "model and name, from its last checkpoint.")] = False,
    print_config: Annotated[bool, typer.Option("--print-config", help="Print the default train.toml and exit.")]
    = False,
    as_json: JsonFlag = False,
) -> None:
    """QLoRA SFT on a frozen version: 4-bit base, LoRA, loss on answers only, eval loss and early stopping.

    Several GPUs: accelerate launch -m factory train --dataset ... --base-model ...
    """
    from train.config import DEFAULT_TRAIN_TOML, load_train_config

    cli = _cli()
    if print_config:
        cli.out.file.write(DEFAULT_TRAIN_TOML)
        return
    if not dataset:
        raise FactoryError("--dataset is required: a frozen version such as NAME@v1 (`factory versions` lists them)")
    cfg = load_train_config(config)
    overrides: dict[str, Any] = {}
    if max_steps is not None:
        overrides["max_steps"] = max_steps
    if epochs is not None:
        overrides["epochs"] = epochs
    if output_name is not None:
        overrides["output_name"] = output_name
    from train.config import validate_config

    cfg = validate_config({**cfg.model_dump(), **overrides}, "command line")
    from train.trainer import TrainRequest, train

    # the trainer's progress bar and log lines go to stderr; stdout keeps only the result (and --json clean)
    with contextlib.redirect_stdout(sys.stderr):
        result = train(cli._ws(), TrainRequest(dataset=dataset, base_model=base_model or cfg.base_model, config=cfg,
                                               resume=resume))
    summary = result.run.summary()
    if as_json:
        return cli._print_json({**summary, "first_train_loss": result.first_loss, "last_train_loss": result.last_loss,
                                "stopped_early": result.stopped_early, "resumed": result.resumed})
    first = "n/a" if result.first_loss is None else f"{result.first_loss:.4f}"
    last = "n/a" if result.last_loss is None else f"{result.last_loss:.4f}"
    best = "n/a" if result.best_eval_loss is None else f"{result.best_eval_loss:.4f}"
    verb = "resumed and finished" if result.resumed else "finished"
    cli.out.print(f"{verb} run [bold]{result.run.id}[/]: {result.global_step} steps"
                  f"{' (stopped early)' if result.stopped_early else ''}, train loss {first} -> {last}, "
                  f"best eval loss {best}")
    cli.out.print(f"run folder: {result.run.path} (adapter/, loss.png, metrics.jsonl, run.json)")
    cli.out.print(f"next: `factory eval {result.run.id}`, `factory chat {result.run.id}`, "
                  f"`factory export {result.run.id} --merge`")


def runs_cmd(as_json: JsonFlag = False) -> None:
    """Training runs: dataset and hash, base model, steps, best eval loss, status."""
    from train.runs import list_runs

    cli = _cli()
    runs = [r.summary() for r in list_runs(cli._ws())]
    if as_json:
        return cli._print_json(runs)
    if not runs:
        cli.out.print("no runs yet; `factory train --dataset NAME@vN --base-model MODEL` makes one")
        return
    table = Table()
    for column in ("run", "status", "dataset", "hash", "base model", "steps", "best eval loss", "eval"):
        table.add_column(column, overflow="fold")
    for r in runs:
        best = "" if r["best_eval_loss"] is None else f"{r['best_eval_loss']:.4f}"
        table.add_row(r["id"], r["status"], r["dataset"] or "", (r["dataset_hash"] or "")[:12],
                      escape(r["base_model"] or ""), str(r["steps"] or ""), best, "yes" if r["evaluated"] else "")
    cli.out.print(table)


def eval_cmd(run_id: RunArg,
             judge: Annotated[bool, typer.Option("--judge", help="Also score with an LLM judge ([llm] config, "
                                                 "$FACTORY_API_KEY): domain knowledge, style, accuracy, 1-5.")]
             = False,
             max_samples: Annotated[int | None, typer.Option("--max-samples", help="At most this many "
                                                               "questions per eval file.")] = None,
             as_json: JsonFlag = False) -> None:
    """Base and tuned answer the eval split (and general_eval.jsonl, for forgetting); writes eval.json, eval.md."""
    from train.evaluate import EVAL_REPORT, evaluate_run

    cli = _cli()
    with cli._progress("answering") as progress:
        result = evaluate_run(cli._ws(), run_id, judge=judge, max_samples=max_samples, progress=progress)
    if as_json:
        return cli._print_json({k: v for k, v in result.items() if k != "samples"})
    table = Table()
    for column in ("split", "samples", "ROUGE-L base", "ROUGE-L tuned", "exact match base", "exact match tuned"):
        table.add_column(column)
    for name, s in result["splits"].items():
        def fmt(value: Any) -> str:
            return "n/a" if value is None else f"{value:.3f}"
        table.add_row(name, str(s["samples"]), fmt(s["base"]["rouge_l"]), fmt(s["tuned"]["rouge_l"]),
                      fmt(s["base"]["exact_match"]), fmt(s["tuned"]["exact_match"]))
    cli.out.print(table)
    if "forgetting" in result:
        cli.out.print(f"forgetting (general_eval ROUGE-L, base minus tuned): {result['forgetting']['rouge_l_drop']:+.3f}")
    from train.runs import resolve_run

    cli.out.print(f"side by side: {resolve_run(cli._ws(), result['run']).path / EVAL_REPORT}")


def chat_cmd(run_id: RunArg,
             system: Annotated[str | None, typer.Option("--system", help="System prompt (default: the run's).")]
             = None) -> None:
    """Talk to a tuned model with the chat template it was trained with (/reset, /base, /exit)."""
    from train.chat import open_chat

    cli = _cli()
    session = open_chat(cli._ws(), run_id, system)
    cli.out.print(f"chatting with run {session.loaded.run.id} (template: {session.loaded.template.source}). "
                  "/reset forgets the conversation, /base asks the base model once, /exit or Ctrl-D quits.")
    base_next = False
    while True:
        try:
            text = input("you> ").strip()
        except EOFError:
            break
        if text in ("/exit", "/quit"):
            break
        if text == "/reset":
            session.reset()
            cli.out.print("(conversation cleared)")
            continue
        if text == "/base":
            base_next = True
            continue
        if not text:
            continue
        answer = session.reply(text, base=base_next)
        cli.out.print(f"{'base' if base_next else 'model'}> {escape(answer)}")
        base_next = False


def _export_cmd(version_export: Callable[..., None] | None) -> Callable[..., None]:
    def export(
        target: Annotated[str, typer.Argument(help="A run id (`factory runs`), or a version: NAME@vN, NAME@latest "
                                                   "or NAME@<hash prefix>.")],
        fmt: Annotated[str | None, typer.Option("--format", help="Versions: alpaca, sharegpt, openai or "
                                                   "llamafactory.")] = None,
        out_dir: Annotated[Path | None, typer.Option("--out", help="Folder to write into (runs: default "
                                                        "RUN/export).")] = None,
        merge: Annotated[bool, typer.Option("--merge", help="Runs: merge the adapter into a bf16 copy of the "
                                            "base, for Ollama and llama.cpp.")] = False,
        gguf: Annotated[bool, typer.Option("--gguf/--no-gguf", help="Runs with --merge: also write a GGUF when "
                                           "llama.cpp's converter is found.")] = True,
    ) -> None:
        """Write a version in a trainer's format, or a training run as a merged model with an Ollama Modelfile."""
        from train.runs import is_run

        cli = _cli()
        ws = cli._ws()
        if _names_run(ws, target, is_run):
            from train.export import export_run

            with cli._progress("exporting") as progress:
                result = export_run(ws, target, merge=merge, out=out_dir, gguf=gguf, progress=progress)
            if result.merged:
                cli.out.print(f"merged bf16 model: {result.merged}")
            if result.gguf:
                cli.out.print(f"GGUF: {result.gguf}")
            cli.out.print(f"Modelfile: {result.modelfile}")
            for note in result.notes:
                cli.err.print(f"note: {escape(note)}")
            cli.out.print(f"next: cd {result.out} && ollama create NAME -f Modelfile && ollama run NAME")
            return
        if merge:
            raise FactoryError(f"{target}: no such run; `factory runs` lists them (--merge is for runs)")
        if fmt is None or out_dir is None:
            raise FactoryError(f"{target}: exporting a version needs --format and --out")
        if version_export is None:
            raise FactoryError("version export is not available in this build")
        version_export(target, fmt, out_dir)

    return export


def _names_run(ws: Any, target: str, is_run: Callable[[Any, str], bool]) -> bool:
    """A run id or unique run-id prefix that is not also a version reference."""
    if "@" in target:
        return False
    from factory.versions import list_versions

    return is_run(ws, target) and not list_versions(ws, target)


def register(app: typer.Typer) -> None:
    """Add the training commands to `app`; `export` keeps version exports and gains runs."""
    version_export = None
    for info in list(app.registered_commands):
        name = info.name or (info.callback.__name__ if info.callback else None)
        if name == "export":
            version_export = info.callback
            app.registered_commands.remove(info)
    app.command("train")(train_cmd)
    app.command("runs")(runs_cmd)
    app.command("eval")(eval_cmd)
    app.command("chat")(chat_cmd)
    app.command("export")(_export_cmd(version_export))
