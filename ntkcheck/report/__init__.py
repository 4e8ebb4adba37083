"""Report renderers (text, rich, json, markdown); only this package and the CLI format output."""

from .render import DEFAULT_FAILING, FORMATS, render, rich_renderables, summary

__all__ = ["DEFAULT_FAILING", "FORMATS", "render", "rich_renderables", "summary"]
