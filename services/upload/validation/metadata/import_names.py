"""Import-Name and Import-Namespace (STANDARDS §15 CMD-11)."""

from __future__ import annotations

import keyword

from services.upload.validation.metadata.messages import invalid
from services.upload.validation.metadata.spec import Fields


def check_import_names(fields: Fields) -> tuple[list[str], list[str]]:
    """CMD-11: dotted identifiers with optional ``; private``; no name both Import-Name and Import-Namespace."""
    names = [_import_name("Import-Name", v) for v in fields.get("import_names", [])]
    namespaces = [_import_name("Import-Namespace", v) for v in fields.get("import_namespaces", [])]
    clashes = {n.split(";")[0].strip() for n in names} & {n.split(";")[0].strip() for n in namespaces}
    if clashes:
        name = sorted(clashes)[0]
        raise invalid(
            "Import-Name",
            name,
            "also listed as an Import-Namespace",
            "list each import name in one field only",
        )
    return names, namespaces


def _import_name(header: str, value: str) -> str:
    """CMD-11: one ``dotted.name`` or ``dotted.name; private`` entry."""
    name, semicolon, option = (part.strip() for part in value.partition(";"))
    if semicolon and option != "private":
        raise invalid(header, value, f"unknown option {option!r}", "the only option is '; private'")
    for part in name.split("."):
        if not part.isidentifier() or keyword.iskeyword(part):
            raise invalid(
                header,
                value,
                f"{part!r} is not a valid Python identifier",
                "use a dotted import path such as 'pkg.sub'",
            )
    return f"{name}; private" if semicolon else name
