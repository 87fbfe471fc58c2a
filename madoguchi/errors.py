"""Which exceptions are the user's to fix, and how to say so in one line."""

from __future__ import annotations


class CliError(Exception):
    """A failure the user can fix; the CLI prints it as one line."""


def describe(exc: BaseException) -> str | None:
    """A one-line message for a known, user-fixable error; None for a bug (let it raise)."""
    from madoguchi.batch import BatchInputError
    from madoguchi.registry import ModelNotFoundError
    from madoguchi.routing import RoutingError
    from madoguchi.taxonomy import TaxonomyError

    known: tuple[type[BaseException], ...] = (BatchInputError, ModelNotFoundError, RoutingError, TaxonomyError)
    try:
        from evaluation.labelled import LabelledDataError
        from training.config import ConfigError
        from training.corpus import CorpusError
        from training.importer import ImportConfigError
        from training.promote import PromotionError

        known += (ConfigError, CorpusError, ImportConfigError, LabelledDataError, PromotionError)
    except ImportError:
        pass
    known += (CliError, FileNotFoundError)
    if isinstance(exc, known):
        return str(exc)
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):  # a setting from the environment or an option, out of its range
        return f"{exc.title}: " + "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']} (got {e['input']!r})" for e in exc.errors())
    return None
