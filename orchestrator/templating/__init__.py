"""The one Jinja2 environment shared by `github/` (workflows) and `report/` (HTML, Markdown)."""
