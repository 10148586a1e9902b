"""The ``extractor`` command: thin click commands over api.py, train.py, evaluate.py and web/."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click

from .errors import BadArgument, ExtractorError
from .pipeline import LAYOUTS, Options  # the extract options' one definition


def _fail(exc: ExtractorError, debug: bool):
    if debug:
        raise exc
    click.echo(f"extractor: error: {exc}", err=True)
    sys.exit(exc.exit_code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.pass_context
def main(ctx, debug):
    """Find handwritten digits on scanned forms and cheques and write them to a spreadsheet."""
    ctx.obj = {"debug": debug}


@main.command()
@click.option("--data", type=click.Path(file_okay=False), help="Folder with the four MNIST .gz files.")
@click.option("--epochs", default=40, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--limit", type=click.IntRange(1), help="Train on this many MNIST images only (for quick checks).")
@click.option("-o", "--output", "out", default=None, type=click.Path(dir_okay=False),
              help="Model file to write (default: the shipped models/digits.keras, models/pairs.keras "
                   "or models/strings.keras).")
@click.option("--pairs", is_flag=True, help="Train the model that reads two overlapping digits as one glyph.")
@click.option("--strings", is_flag=True, help="Train the string reader, which reads a field's grey crop whole.")
@click.option("--from", "start_from", type=click.Path(exists=True, dir_okay=False),
              help="Go on training this saved model of the same kind (at a lower rate) instead of "
                   "starting afresh.")
@click.option("--style-digits", "style_share", default=0.0, show_default=True, type=click.FloatRange(0, 5),
              help="For the digit model: add this share (of MNIST's count) of digits drawn from the handwriting "
                   "fonts and the pen-stroke model to each epoch.")
@click.pass_context
def train(ctx, data, epochs, seed, limit, out, pairs, strings, start_from, style_share):
    """Train the digit classifier (or, with --pairs, the pair model; with --strings, the string
    reader) from MNIST and synthetic fields, and write it with its model card."""
    from .model import DEFAULT_MODEL
    from .train import PAIR_MODEL, STRING_READER, train_composed
    from .train import train as run_training

    command = "extractor " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    log = lambda line: click.echo(line, err=True)  # noqa: E731
    try:
        if strings or pairs:
            train_composed(STRING_READER if strings else PAIR_MODEL, data=data, epochs=epochs, seed=seed, out=out,
                           epoch_size=limit, command=command, log=log, start_from=start_from)
        else:
            run_training(data=data, epochs=epochs, seed=seed, out=out or DEFAULT_MODEL, limit=limit,
                         command=command, log=log, start_from=start_from, style_share=style_share)
    except ExtractorError as exc:
        _fail(exc, ctx.obj["debug"])


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="CSV file to write.")
@click.option("--layout", type=click.Choice(LAYOUTS), default=Options.layout, show_default=True,
              help="page: every digit string on each page; field: each image is one field; digit: each image is one digit.")
@click.option("--xlsx", type=click.Path(dir_okay=False), help="Also write the table as XLSX (text cells).")
@click.option("--annotate", type=click.Path(file_okay=False), help="Folder for page images with boxes, digits and confidences drawn.")
@click.option("--dpi", default=Options.dpi, show_default=True, type=click.IntRange(50, 1200), help="Resolution for rendering PDF pages.")
@click.option("--review-below", default=Options.review_below, show_default=True, type=click.FloatRange(0, 1),
              help="Confidence under which a value is flagged needs_review.")
@click.option("--model", type=click.Path(dir_okay=False, exists=True), help="Model file (default: the shipped one).")
@click.option("--models", "models_dir", type=click.Path(file_okay=False, exists=True),
              help="Models folder to read with (one written by `extractor adapt`; default: the shipped models/).")
@click.option("--workers", type=click.IntRange(1), default=None, help="Processes reading pages (default: all cores).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its journal (OUT.csv.journal).")
@click.option("--template", help="Read a template's named fields (built-in name such as cts2010, or a YAML file): one row per page.")
@click.option("--details", type=click.Path(dir_okay=False), help="With --template: also write the long form, a row per field.")
@click.option("--scheduler", help="Address of a Dask scheduler (tcp://host:8786): read the pages on that cluster.")
@click.option("--learn", is_flag=True,
              help="Learn the batch's writers from the fields read surely, then read the unsure ones again "
                   "(minutes more; no corrections needed).")
@click.option("--learn-save", type=click.Path(file_okay=False),
              help="With --learn: also keep the tuned models folder here, for the next batch's --models.")
@click.option("--seed", default=1, show_default=True, type=int, help="With --learn: the tuning's seed.")
@click.option("--verbose", is_flag=True, help="Also name the files skipped as neither images nor PDFs.")
@click.pass_context
def extract(ctx, inputs, output, layout, xlsx, annotate, dpi, review_below, model, models_dir, workers, resume, template, details,
            scheduler, learn, learn_save, seed, verbose):
    """Read handwritten digits from images and PDFs (files or folders, recursively) into a CSV."""
    import os
    import time

    from . import api
    from .dates import journal_of
    from .learn import Learner, learning_files
    from .records import write_csv, write_xlsx

    started = time.time()
    workers = workers or os.cpu_count() or 1
    bar = None
    if sys.stderr.isatty():
        bar = click.progressbar(length=1, label="pages", file=sys.stderr, show_eta=True, show_pos=True)

    def progress(unit, rows):
        if bar is not None:
            bar.update(1, current_item=unit.item.source)

    try:
        if model and models_dir:
            raise BadArgument("give --model or --models, not both")
        if learn_save and not learn:
            raise BadArgument("--learn-save needs --learn")
        model = models_dir or model
        if template:
            from .templates import load_template

            template = load_template(template)
        frame = api.extract(list(inputs), layout=layout, model=model, review_below=review_below,
                            dpi=dpi, annotate=annotate, workers=workers,
                            progress=progress, on_plan=(lambda n: setattr(bar, "length", n)) if bar else None,
                            journal=str(output) + ".journal", resume=resume, template=template,
                            scheduler=scheduler, learn=Learner(learn_save, seed, log=lambda line: click.echo(
                                ("\n" if bar is not None else "") + line, err=True)) if learn else None)
        if bar is not None:
            bar.render_finish()
        table = frame
        if template:
            from .records import wide_frame

            table = wide_frame(frame, [f.name for f in template.fields])
            if details:
                write_csv(frame, details)
        write_csv(table, output)
        if xlsx:
            write_xlsx(table, xlsx)
        os.unlink(str(output) + ".journal")  # the output is complete: the journal has done its job
        if os.path.exists(dates_journal := journal_of(str(output) + ".journal")):
            os.unlink(dates_journal)
        if learn:
            import shutil

            second_journal, models_at = learning_files(str(output) + ".journal")
            if os.path.exists(second_journal):
                os.unlink(second_journal)
            shutil.rmtree(models_at, ignore_errors=True)
    except ExtractorError as exc:
        _fail(exc, ctx.obj["debug"])
    failed = frame[frame["error"] != ""]
    read = frame[(frame["error"] == "") & (frame["text"] != "")]
    skipped = frame.attrs.get("skipped", [])
    click.echo(f"{frame['source'].nunique()} files, {len(frame[frame['error'] == ''].groupby(['source', 'page']))} pages, "
               f"{len(read)} strings, {int(read['needs_review'].sum())} need review, "
               f"{failed['source'].nunique()} errors, "
               + (f"{len(skipped)} skipped (not images or PDFs), " if skipped else "")
               + f"{time.time() - started:.1f}s -> {output}", err=True)
    dated = frame.attrs.get("dates")
    if dated and "skipped" not in dated:
        click.echo(f"dates: {dated['read_again']} unsure dates read again knowing the years of {dated['sure']} sure ones "
                   f"({', '.join(map(str, dated['years']))}), {dated['changed']} changed", err=True)
    learned = frame.attrs.get("learned")
    if learned is not None:
        click.echo(f"learned: {learned['skipped']}; nothing read again" if "skipped" in learned else
                   f"learned from {learned['learned_from']}"
                   + (f" of {learned['fields']}" if learned["fields"] > learned["learned_from"] else "")
                   + f" fields read surely in {learned['seconds']:.0f}s; "
                   f"{learned['read_again']} unsure fields read again, {learned['changed']} changed"
                   + (f"; tuned models in {learn_save}" if learn_save else ""), err=True)
    for _, row in failed.iterrows():
        click.echo(f"  {row['source']}: {row['error']}", err=True)
    if verbose:
        for name in skipped:
            click.echo(f"  skipped {name}: not an image or a PDF", err=True)
    sys.exit(1 if len(failed) else 0)


@main.command()
@click.option("--digits", "digits_dir", type=click.Path(file_okay=False, exists=True),
              help="Folder of single-digit images with labels.csv (file,label).")
@click.option("--strings", "strings_dir", type=click.Path(file_okay=False, exists=True),
              help="Folder of field images with labels.csv (file,digits).")
@click.option("--data", type=click.Path(file_okay=False), help="Folder with the MNIST files.")
@click.option("--model", type=click.Path(dir_okay=False, exists=True), help="Model file (default: the shipped one).")
@click.option("--models", "models_dir", type=click.Path(file_okay=False, exists=True),
              help="Models folder to read with (one written by `extractor adapt`; default: the shipped models/).")
@click.option("--worst", type=click.Path(dir_okay=False), help="PNG to draw the worst mistakes into.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def evaluate(ctx, digits_dir, strings_dir, data, model, models_dir, worst, as_json):
    """Accuracy of the model: on the MNIST test set, or on a labelled folder of digits or fields."""
    from . import evaluate as ev
    from .model import load_model

    try:
        if strings_dir:
            result = ev.evaluate_string_folder(strings_dir, model=models_dir or model)
            if as_json:
                click.echo(json.dumps(result, indent=2))
            else:
                click.echo(f"{result['set']}: {result['exact']:.2%} of {result['n']} strings exact, "
                           f"{result['digit_accuracy']:.2%} of digits")
            return
        loaded = load_model(model or (Path(models_dir) / "digits.keras" if models_dir else None))
        score = ev.evaluate_digit_folder(loaded, Path(digits_dir)) if digits_dir else ev.evaluate_mnist(loaded, data)
    except ExtractorError as exc:
        _fail(exc, ctx.obj["debug"])
    if worst:
        ev.worst_image(score, Path(worst))
    if as_json:
        click.echo(json.dumps(score.as_dict(), indent=2))
        return
    click.echo(f"{score.name}: {score.accuracy:.2%} of {score.n} digits")
    click.echo("confusion (rows: label, columns: read)")
    click.echo("     " + " ".join(f"{d:>5}" for d in range(10)))
    for label, row in enumerate(score.confusion):
        click.echo(f"{label:>4} " + " ".join(f"{v:>5}" for v in row))


@main.command()
@click.argument("folders", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Models folder to write (read with it by --models on extract, evaluate and serve).")
@click.option("--epochs", default=6, show_default=True, type=click.IntRange(1),
              help="Epochs to tune the string reader and the digit model.")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--data", type=click.Path(file_okay=False), help="Folder with the MNIST files (mixed into every epoch).")
@click.option("--models", "models_dir", type=click.Path(file_okay=False, exists=True),
              help="Models folder to start from (default: the shipped models/).")
@click.option("--holdout", default=0.0, show_default=True, type=click.FloatRange(0, 0.9),
              help="First tune without this share of the fields, to measure the gain on them (takes twice as long).")
@click.pass_context
def adapt(ctx, folders, output, epochs, seed, data, models_dir, holdout):
    """Fine-tune the readers on fields you corrected: FOLDERS (or .zip files, such as the web app's
    corrections download) hold field crops and labels.csv (file,digits)."""
    from .adapt import adapt as run_adapt
    from .model import MODELS_DIR

    try:
        run_adapt(list(folders), output, epochs=epochs, seed=seed, data=data, base=models_dir or MODELS_DIR,
                  held_out_share=holdout, log=lambda line: click.echo(line, err=True))
    except ExtractorError as exc:
        _fail(exc, ctx.obj["debug"])


@main.group()
def template():
    """Make and inspect templates of forms."""


@template.command("init")
@click.argument("image", type=click.Path(dir_okay=False, exists=True))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="YAML file to write.")
@click.option("--annotate", type=click.Path(dir_okay=False), help="PNG showing the fields found, numbered.")
@click.option("--dpi", default=Options.dpi, show_default=True, type=click.IntRange(50, 1200))
@click.pass_context
def template_init(ctx, image, output, annotate, dpi):
    """Find the boxes and combs of a blank or filled form and write a template of them
    (fields field_1 ... field_N in reading order, to rename)."""
    from .pages import load_pages
    from .templates import dump_template, init_template

    try:
        page = load_pages(Path(image), dpi=dpi)[0]
        made = init_template(page, Path(image).stem, annotate=annotate)
    except ExtractorError as exc:
        _fail(exc, ctx.obj["debug"])
    Path(output).write_text(dump_template(made))
    click.echo(f"{len(made.fields)} fields found -> {output}", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Folder for the database, uploads and secret key (default: $EXTRACTOR_WEB_DIR or ~/.local/share/extractor/web).")
@click.option("--max-upload-mb", default=25, show_default=True, type=click.FloatRange(0.1, 2048),
              help="Largest upload accepted, all files together.")
@click.option("--models", "models_dir", type=click.Path(file_okay=False, exists=True),
              help="Models folder to read with (one written by `extractor adapt`; default: the shipped models/).")
def serve(host, port, data_dir, max_upload_mb, models_dir):
    """Run the web app: sign up, upload scans and see their digits, draw numbers, keep a history.
    Set DATABASE_URL for PostgreSQL instead of SQLite."""
    from .web import create_app

    app = create_app({"DATA_DIR": data_dir, "MAX_UPLOAD_MB": max_upload_mb, "MODELS": models_dir})
    from waitress import serve as serve_wsgi

    click.echo(f"extractor web app on http://{host}:{port}/ (data in {app.config['DATA_DIR']}); Ctrl-C stops it", err=True)
    serve_wsgi(app, host=host, port=port, threads=4, max_request_body_size=app.config["MAX_CONTENT_LENGTH"] + 65536)


if __name__ == "__main__":
    main()
