"""Report renderers (text, rich, json, markdown); only this package and the CLI format output."""

from .render import FORMATS, render, rich_renderables, summary

__all__ = ["FORMATS", "render", "rich_renderables", "summary"]
