"""Typed errors, each carrying the exit code the command line ends with (DESIGN.md §3)."""


class ExtractorError(Exception):
    """Base of every error the extractor reports to a user as one line."""

    exit_code = 1


class InputError(ExtractorError):
    """One input file or page could not be read; the batch goes on and the file gets an error row."""

    exit_code = 1


class DataError(ExtractorError):
    """Training or evaluation data is missing or malformed."""

    exit_code = 2


class BadArgument(ExtractorError):
    """The command line or a template asks for something impossible."""

    exit_code = 2


class MissingDependency(ExtractorError):
    """A system tool or package is missing (e.g. poppler's pdftoppm for PDFs); the message names it."""

    exit_code = 3
