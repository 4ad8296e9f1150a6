"""Reading synthesized templates in tests: a stack's template and files, and token-free text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template

#: A definition of the user's own, for ``AsyncWorkflowApi(definition_body=...)``.
OWN_DEFINITION = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}


@dataclass(frozen=True, slots=True)
class Synthesized:
    """One synthesized stack: its template for assertions, and the assembly on disk."""

    template: Template
    template_file: Path
    assembly_dir: Path

    def resources(self, type_: str) -> dict[str, Any]:
        """The template's resources of one type, by logical id."""
        return dict(self.template.find_resources(type_))

    def only(self, type_: str) -> tuple[str, Any]:
        """The one resource of ``type_`` (logical id, resource); fails if there are more or none."""
        found = self.resources(type_)
        assert len(found) == 1, f"expected one {type_}, found {sorted(found)}"
        return next(iter(found.items()))


def flatten(value: Any) -> Any:
    """A template value with ``Fn::Join`` joined and references written ``<Ref Id>`` / ``<Id.Attr>``.

    This reads a token-laden string (a request template, a definition) as the text it becomes.
    """
    match value:
        case {"Fn::Join": [separator, parts]}:
            return separator.join(str(flatten(part)) for part in parts)
        case {"Ref": logical_id}:
            return f"<Ref {logical_id}>"
        case {"Fn::GetAtt": [logical_id, attribute]}:
            return f"<{logical_id}.{attribute}>"
        case _:
            return value
