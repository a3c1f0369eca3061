"""The one Jinja2 environment for every template sweepci renders (reports, workflows).

Templates live in the repository's top-level ``templates/`` directory, which
the wheel ships as the package ``orchestrator.templates``. An installed
sweepci reads them through importlib.resources (so a zipped or non-editable
install works); running from a source checkout that is not installed falls
back to the ``templates/`` directory beside the package.

Choices made once, here, for every caller:

- ``StrictUndefined``: a misspelt variable is an error, never an empty string.
- autoescape is on for HTML/XML/SVG templates (``*.html.j2``, ``*.html``, ...)
  and off for everything else (Markdown, YAML), where HTML escaping would
  corrupt the output; those renderers escape for their own syntax.
- ``trim_blocks`` and ``lstrip_blocks``: a ``{% ... %}`` line leaves no blank
  line or indentation behind, which matters for YAML and Markdown tables.
- ``keep_trailing_newline``: a file's final newline survives rendering.
- GitHub Actions templates (``workflows/`` and ``init/``) print variables with
  ``[[ name ]]`` instead of ``{{ name }}``, so the workflow's own ``${{ ... }}``
  expressions pass through untouched; blocks stay ``{% ... %}``. The overlay
  shares the loader and every setting above.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

#: the package the wheel installs templates/ as (see pyproject.toml, package-dir)
TEMPLATE_PACKAGE = "orchestrator.templates"
#: templates/ in a source checkout, used when the package is not importable
SOURCE_TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates"

_ESCAPED_SUFFIXES = (".html", ".htm", ".xml", ".svg")
_TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2")
#: template directories whose output is GitHub Actions YAML (uses `${{ }}` itself)
_ACTIONS_DIRS = ("workflows/", "init/")


def autoescape_for(template_name: str | None) -> bool:
    """True when a template produces HTML-like markup (judged by its name without .j2)."""
    if not template_name:
        return False
    name = template_name.lower()
    for suffix in _TEMPLATE_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.endswith(_ESCAPED_SUFFIXES)


def _package_root() -> importlib.resources.abc.Traversable | None:
    try:
        return importlib.resources.files(TEMPLATE_PACKAGE)
    except (ModuleNotFoundError, TypeError):
        # TypeError: a namespace-less or odd import state; fall back to the source tree
        return None


def _load_from_package(name: str) -> tuple[str, str, Callable[[], bool]] | None:
    root = _package_root()
    if root is None:
        return None
    node = root
    for part in name.split("/"):
        if part in ("", ".", ".."):
            return None  # never leave the template package
        node = node.joinpath(part)
    if not node.is_file():
        return None
    source = node.read_text(encoding="utf-8")
    # templates inside an installed package do not change while we run
    return source, str(node), lambda: True


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The shared environment (built once per process)."""
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FunctionLoader(_load_from_package),
            jinja2.FileSystemLoader(str(SOURCE_TEMPLATE_DIR)),
        ]
    )
    return jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape_for,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@functools.lru_cache(maxsize=1)
def actions_environment() -> jinja2.Environment:
    """The shared environment with ``[[ ]]`` variables, for GitHub Actions YAML."""
    return environment().overlay(variable_start_string="[[", variable_end_string="]]")


def render(template_name: str, **context: Any) -> str:
    """Render ``templates/<template_name>`` with ``context``.

    Raises jinja2.TemplateNotFound for an unknown name and
    jinja2.UndefinedError when the template uses a variable not given.
    """
    env = actions_environment() if template_name.startswith(_ACTIONS_DIRS) else environment()
    return env.get_template(template_name).render(**context)


__all__ = ["TEMPLATE_PACKAGE", "actions_environment", "autoescape_for", "environment", "render"]
