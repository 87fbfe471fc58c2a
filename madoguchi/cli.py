"""The `madoguchi` command: train, serve, classify, predict, and check data.

Run from the project folder it uses the same settings, store and
`@champion` as `make serve`. Errors end in one line on stderr naming the
file (and line) at fault, and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

from madoguchi.errors import CliError
from madoguchi.served_model import ModelNotFoundError, ResolvedVersion
from madoguchi.settings import Settings


def _settings(args: argparse.Namespace, **overrides: object) -> Settings:
    if getattr(args, "tracking_uri", None):
        overrides["tracking_uri"] = args.tracking_uri
    return Settings(**overrides)


def cmd_train(args: argparse.Namespace) -> int:
    from training.config import TrainConfig
    from training.train import train

    settings = _settings(args)
    config = TrainConfig.from_yaml(args.config or settings.default_config)
    result = train(config, settings, data_path=args.data, progress=not args.quiet)
    print(result.summary())
    return 0


def train_default(settings: Settings, progress: bool = True) -> None:
    """Train and register the default model, in a child process: the server that follows carries none of
    training's libraries (nor the MLflow client)."""
    import subprocess

    print(f"no @{settings.model_alias} for {settings.model_name} in {settings.tracking_uri}; "
          "training the default model from the shipped data", file=sys.stderr)
    command = [sys.executable, "-m", "madoguchi.cli", "--tracking-uri", settings.tracking_uri, "train",
               "--config", str(settings.default_config)]
    if not progress:
        command.append("--quiet")
    if subprocess.run(command, check=False).returncode != 0:
        raise CliError("training the default model failed (see above)")


def cmd_serve(args: argparse.Namespace) -> int:
    from madoguchi.served_model import PendingResolve

    settings = _settings(args, **({} if args.workers is None else {"workers": args.workers}))
    workers = settings.workers
    # Resolve the alias in a child process while this one imports the web stack.
    pending = PendingResolve(settings)
    import uvicorn

    if workers == 1:
        from service.main import create_app
    try:
        found: ResolvedVersion | None = pending.result()
    except ModelNotFoundError:
        found = None  # with --no-train the server starts anyway and /readyz says why it has no model
        if not args.no_train:
            train_default(settings)
            found = PendingResolve(settings).result()
    common = {"host": args.host or settings.host, "port": args.port or settings.port, "log_level": "info",
              "log_config": log_config(), "access_log": settings.access_log}
    if workers == 1:
        uvicorn.run(create_app(settings, resolved=found), workers=1, **common)
    else:
        # Each worker is a new interpreter that builds its own app, and its settings, from the environment;
        # this process only supervises them (uvicorn restarts one that dies).
        os.environ["MLFLOW_TRACKING_URI"] = settings.tracking_uri
        uvicorn.run("service.main:create_app", factory=True, workers=workers, **common)
    return 0


def log_config() -> dict[str, Any]:
    """uvicorn's logging set-up plus the service's own loggers.

    uvicorn applies it in each worker process, where a `logging.basicConfig` made here would not reach:
    without it, a worker's answer summaries and start-up lines were lost.
    """
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["madoguchi"] = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    config["handlers"]["madoguchi"] = {"class": "logging.StreamHandler", "formatter": "madoguchi",
                                       "stream": "ext://sys.stderr"}
    config["loggers"]["madoguchi"] = {"handlers": ["madoguchi"], "level": "INFO", "propagate": False}
    return config


def _classifier(settings: Settings, model_uri: str | None = None):
    from madoguchi.inference import Classifier
    from madoguchi.registry import load_by_alias, load_uri
    from madoguchi.routing import load_routing_tables
    from madoguchi.taxonomy import load_taxonomy
    from madoguchi.tracking import configure

    taxonomy = load_taxonomy(settings.taxonomy_path)
    routing = load_routing_tables(settings.routing_dir, taxonomy)
    if model_uri:
        configure(settings)
        model, info = load_uri(model_uri)
    else:
        model, info = load_by_alias(settings)
    return Classifier(model, info, taxonomy, routing, settings.max_text_chars)


def cmd_classify(args: argparse.Namespace) -> int:
    from madoguchi.routing import UnknownMunicipalityError
    from madoguchi.text import TextError

    classifier = _classifier(_settings(args), args.model)
    try:
        result = classifier.classify([args.text], args.municipality, args.top_k)[0]
    except TextError as exc:
        raise CliError(f"text: {exc}") from None
    except UnknownMunicipalityError:
        raise CliError(f"unknown municipality {args.municipality!r}; known: {', '.join(classifier.routing)}") from None
    top = result.category
    out = {
        "category": {"code": top.code, "name": top.name} if top else None,
        "confidence": result.confidence,
        "needs_review": result.needs_review,
        "review_reason": result.review_reason,
        "route": top.department.name if top and top.department else None,
        "alternatives": [{"code": a.code, "name": a.name, "confidence": a.confidence} for a in result.alternatives],
        "model": f"{classifier.info.name}/{classifier.info.version}",
    }
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from madoguchi.batch import predict_csv

    classifier = _classifier(_settings(args), args.model)
    stats = predict_csv(classifier, Path(args.input), Path(args.output), text_column=args.text_column,
                        municipality=args.municipality, encoding=args.encoding, progress=not args.quiet,
                        workers=args.workers)
    print(f"{args.output}: {stats.rows} rows, {stats.needs_review} for review, {stats.errors} unreadable "
          f"({stats.rows / max(stats.seconds, 1e-9):,.0f} rows/s)", file=sys.stderr)
    return 0


def cmd_data_check(args: argparse.Namespace) -> int:
    from madoguchi.taxonomy import load_taxonomy
    from training.corpus import check_rows, read_rows

    settings = _settings(args)
    path = Path(args.path or settings.corpus_path)
    taxonomy = load_taxonomy(settings.taxonomy_path)
    rows, lines, problems = read_rows(path, taxonomy)
    problems += check_rows(rows, lines, path, taxonomy)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{path}: {len(problems)} problem(s) in {len(rows)} readable rows", file=sys.stderr)
        return 1
    print(f"{path}: {len(rows)} rows OK")
    return 0


def cmd_data_build(args: argparse.Namespace) -> int:
    from madoguchi.taxonomy import load_taxonomy
    from training.build_corpus import build

    settings = _settings(args)
    report = build(settings.corpus_path.parent, load_taxonomy(settings.taxonomy_path))
    for problem in report.problems:
        print(problem, file=sys.stderr)
    print(f"{settings.corpus_path}: {report}", file=sys.stderr)
    return 1 if report.problems else 0


def cmd_data_import(args: argparse.Namespace) -> int:
    from madoguchi.taxonomy import load_taxonomy
    from training.importer import ImportMapping, import_csv, write_import

    settings = _settings(args)
    taxonomy = load_taxonomy(settings.taxonomy_path)
    mapping = ImportMapping.from_yaml(Path(args.mapping), taxonomy)
    if args.encoding:
        mapping.encoding = args.encoding
    report = import_csv(Path(args.input), mapping)
    for problem in report.problems:
        print(problem, file=sys.stderr)
    output = Path(args.output) if args.output else settings.corpus_path.parent / "imported" / f"{mapping.source}.jsonl"
    if report.problems and not args.keep_good_rows:
        print(f"{args.input}: {len(report.problems)} row(s) could not be imported; nothing written "
              "(fix them, or pass --keep-good-rows to write the others)", file=sys.stderr)
        return 1
    write_import(report, output)
    print(f"{output}: {len(report.rows)} rows imported, {len(report.problems)} skipped; "
          "run `madoguchi data build` to add them to the corpus", file=sys.stderr)
    return 0


def cmd_data_stats(args: argparse.Namespace) -> int:
    from madoguchi.taxonomy import load_taxonomy
    from training.corpus import load_corpus
    from training.corpus_stats import markdown

    settings = _settings(args)
    taxonomy = load_taxonomy(settings.taxonomy_path)
    print(markdown(load_corpus(Path(args.path or settings.corpus_path), taxonomy), taxonomy))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from evaluation.labelled import load_labelled
    from evaluation.report import write_report

    settings = _settings(args)
    classifier = _classifier(settings, args.model)
    data = load_labelled(Path(args.data), classifier.taxonomy, split=args.split, source=args.source,
                         exclude_source=args.exclude_source)
    info = classifier.info
    out_dir = Path(args.output_dir or f"reports/{info.name}-v{info.version}-{data.digest[:8]}")
    report = write_report(classifier.model, info, classifier.taxonomy, data, out_dir)
    m = report.numbers
    print(f"{report.html_path}: {info.name} v{info.version} on {data.name} ({len(data.texts)} rows): "
          f"accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f}, ECE {m['ece']:.3f}, "
          f"review {m['review_share']:.0%}")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from evaluation.labelled import load_labelled
    from madoguchi.taxonomy import load_taxonomy
    from training.promote import apply_gate, evaluate_gate

    settings = _settings(args)
    taxonomy = load_taxonomy(settings.taxonomy_path)
    data = load_labelled(Path(args.data or settings.corpus_path), taxonomy, split=args.split,
                         exclude_source=args.exclude_source)
    result = evaluate_gate(settings, data, args.version)
    print(f"{settings.model_name}: champion v{result.champion_version} vs challenger v{result.challenger_version} "
          f"on {data.name} ({len(data.texts)} rows, digest {data.digest})")
    print(result.table({c: taxonomy.name(c) for c in taxonomy.labels}))
    promoted = apply_gate(settings, result, data, force=args.force)
    if result.passed:
        print(f"gate passed: v{result.challenger_version} is now @champion")
    elif promoted:
        print(f"gate FAILED but forced: v{result.challenger_version} is now @champion ({'; '.join(result.reasons)})")
    else:
        print(f"gate failed: {'; '.join(result.reasons)}; @champion stays v{result.champion_version}")
    return 0 if promoted else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="madoguchi", description="Route residents' inquiries to departments.")
    parser.add_argument("--tracking-uri", help="MLflow store (default: MLFLOW_TRACKING_URI or ./mlflow.db)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model, log it to MLflow and register it")
    p.add_argument("--config", help="models/configs/<name>.yaml (default: models/configs/ensemble.yaml)")
    p.add_argument("--data", help="labelled corpus (JSONL); default datasets/corpus/inquiries.jsonl")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("serve", help="serve the @champion model over HTTP (trains one first if none)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--no-train", action="store_true", help="do not train when no @champion exists")
    p.add_argument("--workers", type=int,
                   help="server processes (default: MADOGUCHI_WORKERS, else 1); each loads its own copy of the model")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("classify", help="classify one text")
    p.add_argument("text")
    p.add_argument("--municipality")
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument("--model", help="model URI (default: models:/<name>@champion)")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("predict", help="classify every row of a CSV file")
    p.add_argument("input")
    p.add_argument("--text-column", default="text")
    p.add_argument("--output", required=True)
    p.add_argument("--municipality")
    p.add_argument("--encoding", default="utf-8", help="input encoding, e.g. utf-8 or cp932 (Shift_JIS)")
    p.add_argument("--model", help="model URI (default: models:/<name>@champion)")
    p.add_argument("--workers", type=int, help="processes to classify with (default: one per core; 1 for torch models)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("promote", help="move @champion to the challenger if it passes the gate")
    p.add_argument("--version", help="challenger version (default: the @challenger alias)")
    p.add_argument("--data", help="held-out data (default: the corpus)")
    p.add_argument("--split", default="test", help="split of a corpus file to compare on (default: test)")
    p.add_argument("--exclude-source", default="kosodate-faq", help="rows left out (default: kosodate-faq)")
    p.add_argument("--force", action="store_true", help="promote even if the gate fails (recorded as a tag)")
    p.set_defaults(func=cmd_promote)

    p = sub.add_parser("report", help="write an HTML + JSON accuracy report of a model on labelled data")
    p.add_argument("--model", help="model URI (default: models:/<name>@champion)")
    p.add_argument("--data", required=True, help="labelled JSONL (corpus format) or CSV with text,label")
    p.add_argument("--split", choices=["train", "test"], help="only rows of this split (JSONL)")
    p.add_argument("--source", help="only rows of this source, e.g. kosodate-faq (JSONL)")
    p.add_argument("--exclude-source", help="leave out rows of this source (JSONL)")
    p.add_argument("--output-dir", help="default: reports/<model>-v<version>-<data digest>")
    p.set_defaults(func=cmd_report)

    data = sub.add_parser("data", help="corpus tools").add_subparsers(dest="data_command", required=True)
    p = data.add_parser("check", help="check a labelled corpus file; exits 1 with file:line for each problem")
    p.add_argument("path", nargs="?")
    p.set_defaults(func=cmd_data_check)
    p = data.add_parser("import", help="import a municipality's labelled CSV log through a mapping file")
    p.add_argument("input", help="the CSV file (UTF-8 or Shift_JIS)")
    p.add_argument("--mapping", required=True, help="YAML: source, columns (text, label, channel), labels, channels")
    p.add_argument("--encoding", help="override the mapping's encoding (auto tries UTF-8, then cp932)")
    p.add_argument("--output", help="default: datasets/corpus/imported/<source>.jsonl")
    p.add_argument("--keep-good-rows", action="store_true", help="write the readable rows even if some are not")
    p.set_defaults(func=cmd_data_import)
    p = data.add_parser("stats", help="print the corpus statistics of the datasheet as Markdown")
    p.add_argument("path", nargs="?")
    p.set_defaults(func=cmd_data_stats)
    p = data.add_parser("build", help="rebuild datasets/corpus/inquiries.jsonl from written/, external/, imported/")
    p.set_defaults(func=cmd_data_build)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from madoguchi.errors import describe

        message = describe(exc)
        if message is None:
            raise
        print(f"madoguchi: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
