"""The ``extractor`` command: thin click commands over api.py, train.py and evaluate.py."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click

from .errors import ExtractorError


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
              help="Model file to write (default: the shipped models/digits.keras).")
@click.pass_context
def train(ctx, data, epochs, seed, limit, out):
    """Train the digit classifier from MNIST and write it with its model card."""
    from .model import DEFAULT_MODEL
    from .train import train as run_training

    command = "extractor " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    try:
        run_training(data=data, epochs=epochs, seed=seed, out=out or DEFAULT_MODEL, limit=limit,
                     command=command, log=lambda line: click.echo(line, err=True))
    except ExtractorError as exc:
        _fail(exc, ctx.obj["debug"])


if __name__ == "__main__":
    main()
