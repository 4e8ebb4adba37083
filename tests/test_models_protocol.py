"""``models.protocol``: the values a family returns; ``LocalBeta.to_dict`` is JSON
``estimate.beta_local_info`` with a stable key order (the protocol's only logic)."""

from __future__ import annotations

from ntkcheck.models.protocol import EXTRA_ORDER, GramError, LocalBeta

GENERIC = ["value", "iterations", "converged", "restarts", "spread", "candidates",
           "tensor_value", "tensor_improved"]  # fmt: skip


def test_without_extra_the_generic_keys_in_order():
    info = LocalBeta(2.0, 7, True, 3, 0.01)
    out = info.to_dict()
    assert list(out) == GENERIC
    assert out == {"value": 2.0, "iterations": 7, "converged": True, "restarts": 3,
                   "spread": 0.01, "candidates": 0, "tensor_value": 0.0,
                   "tensor_improved": False}  # fmt: skip


def test_a_familys_keys_at_their_places_then_any_others():
    info = LocalBeta(2.0, 7, True, 3, 0.01, where="neuron 4",
                     extra={"zeta": 1, "distinct_neurons": 5, "neuron": 4})  # fmt: skip
    out = info.to_dict()
    assert list(out) == [*EXTRA_ORDER, "zeta"]
    assert (out["neuron"], out["distinct_neurons"], out["zeta"]) == (4, 5, 1)
    assert "where" not in out  # the report's words, not a JSON key


def test_an_extra_key_never_replaces_a_generic_one():
    out = LocalBeta(2.0, 7, True, 3, 0.01, extra={"value": -1.0}).to_dict()
    assert out["value"] == 2.0


def test_a_gram_error_is_rigorous_unless_said():
    assert GramError(1e-12).rigorous and not GramError(1e-12, rigorous=False).rigorous
