"""GitHub workflow annotations: ``::error file=…,line=…,title=…::message`` per spec."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ..run.result import CertifyResult, Entry
from ..run.specs import BUILTIN
from ..theory.certificate import Status
from .common import kind, line_of, message, summary, uri


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def render(entries: Sequence[Entry], failing: Collection[str]) -> str:
    """``::error file=…,line=…,title=…::message`` per spec, then a summary line."""
    out = []
    for e in entries:
        k = kind(e)
        if k == Status.certified.value:
            level = "notice"
        elif k == "error" or k in failing:
            level = "error"
        else:
            level = "warning"
        props = []
        if not (isinstance(e, CertifyResult) and e.builtin) and e.spec != BUILTIN:
            props.append(f"file={_gh_prop(uri(e.spec))}")
            line = line_of(e)
            if line:
                props.append(f"line={line}")
        title = "ntkcheck: " + (k.replace("_", " ") if k != "error" else "invalid spec")
        props.append(f"title={_gh_prop(title)}")
        out.append(f"::{level} {','.join(props)}::{_gh_data(message(e))}")
    out.append(summary(entries))
    return "\n".join(out) + "\n"


def render_validation(rows: list[tuple[str, str | None, int | None]]) -> str:
    """``ntkcheck validate -f github``: ``::error`` per invalid spec, escaped as for certify."""
    out = []
    for s, m, ln in rows:
        if m is None:
            continue
        props = [f"file={_gh_prop(uri(s))}"] + ([f"line={ln}"] if ln else [])
        props.append(f"title={_gh_prop('ntkcheck: invalid spec')}")
        out.append(f"::error {','.join(props)}::{_gh_data(m)}\n")
    return "".join(out)
