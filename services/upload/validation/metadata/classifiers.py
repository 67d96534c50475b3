"""Classifier (STANDARDS POL-4)."""

from __future__ import annotations

from typing import Final

from trove_classifiers import all_classifiers, deprecated_classifiers

from services.upload.validation.metadata.messages import invalid

_CLASSIFIERS_URL: Final = "https://pypi.org/classifiers/"


def check_classifiers(values: list[str]) -> list[str]:
    """POL-4: known trove classifiers only; ``Private ::`` and deprecated ones refused."""
    for value in values:
        if value.startswith("Private ::"):
            raise invalid(
                "Classifier",
                value,
                "'Private :: …' classifiers are refused by package indexes",
                "remove it to publish this file",
            )
        if value in deprecated_classifiers:
            replacements = deprecated_classifiers[value]
            fix = "use " + " or ".join(repr(r) for r in replacements) + " instead" if replacements else "remove it"
            raise invalid("Classifier", value, "deprecated", fix)
        if value not in all_classifiers:
            raise invalid("Classifier", value, "not a known trove classifier", f"see {_CLASSIFIERS_URL}")
    return list(values)
