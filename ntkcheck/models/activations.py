"""Activation functions with exact first and second derivatives (THEORY.md §6 table).

Each activation carries σ, σ', σ'' and ``lipschitz_derivative = sup|σ''|``, the
Lipschitz constant of σ' that enters every analytic β bound. It is ``inf`` for
relu, leaky_relu and abs, whose σ' jumps: hypothesis (H1) fails for them.
At a kink σ'(0) is a convention (relu 0, abs 0, leaky_relu its slope); it
changes nothing almost surely.

Evaluation models (u = 2⁻⁵³; the rigorous bounds assume the first two): σ to
16u·(|σ̂| + 1) (docs/theory-mlp.md §5), σ' to 16u·max(1, sup|σ'|) absolute
(``linalg.rigorous``), σ'' — read only by the local-β estimates — to
16u·max(1, sup|σ''|) absolute. tests/test_activations.py checks every
activation's three, by every evaluation path, against mpmath on [−45, 45] and
tails to ±700; the worst case today is about 4u (tanh's σ'').
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .names import ACTIVATION_NAMES, ALIASES

Array = np.ndarray
Fn = Callable[[Array], Array]

SQRT_2PI = math.sqrt(2.0 * math.pi)
LEAKY_RELU_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """σ with σ', σ'' and ``lipschitz_derivative = sup_z |σ''(z)|`` (L_σ')."""

    name: str
    sigma: Fn
    sigma_prime: Fn
    sigma_second: Fn
    lipschitz_derivative: float
    fused: Callable[[Array], tuple[Array, Array]] | None = None
    prime_inplace: Callable[[Array], Array] | None = None
    #: σ in z's memory, and σ' from σ in σ's memory (both or neither)
    value_inplace: Callable[[Array], Array] | None = None
    prime_of_value_inplace: Callable[[Array], Array] | None = None

    def derivative_overwrite(self, z: Array) -> Array:
        """σ'(z), reusing z's memory where the activation allows (z is then overwritten)."""
        return self.prime_inplace(z) if self.prime_inplace is not None else self.sigma_prime(z)

    def value_and_derivative(self, z: Array) -> tuple[Array, Array]:
        """``(σ(z), σ'(z))``, sharing work where the activation allows (e.g. tanh)."""
        if self.fused is not None:
            return self.fused(z)
        return self.sigma(z), self.sigma_prime(z)

    def reduce_then_derivative(
        self, z: Array, reduce: Callable[[Array], Array]
    ) -> tuple[Array, Array]:
        """``(reduce(σ(z)), σ'(z))``, with σ and then σ' in z's memory where the activation
        allows (z is then overwritten): one array of z's size instead of three (tanh,
        relu), for a forward pass that needs σ only through ``reduce``."""
        if self.value_inplace is not None and self.prime_of_value_inplace is not None:
            value = self.value_inplace(z)
            out = reduce(value)
            return out, self.prime_of_value_inplace(value)
        sigma, prime = self.value_and_derivative(z)
        return reduce(sigma), prime

    def __reduce__(self) -> tuple[object, tuple[str]]:
        """Pickle by name (the table holds lambdas): ``get_activation(name)`` rebuilds it."""
        return get_activation, (self.name,)

    @property
    def derivative_bound(self) -> float:
        """sup_z |σ'(z)| (THEORY.md §10; ∞ for quadratic)."""
        return SUP_PRIME[self.name]

    @property
    def smooth(self) -> bool:
        """True when σ' is Lipschitz, i.e. (H1) can hold."""
        return math.isfinite(self.lipschitz_derivative)


def _logistic(z: Array) -> Array:
    """1/(1 + e^{−z}) without overflow: e^{−|z|} ≤ 1 on both branches."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _erf(z: Array) -> Array:
    from scipy.special import erf  # loaded on first use: certify of other σ's skips it

    return erf(z)


def _ndtr(z: Array) -> Array:
    """Φ(z), the standard normal CDF."""
    from scipy.special import ndtr

    return ndtr(z)


def _normal_pdf(z: Array) -> Array:
    return np.exp(-0.5 * z * z) / SQRT_2PI


def _logistic_pair(z: Array) -> tuple[Array, Array]:
    """``(p, q) = (logistic(z), logistic(−z))`` from one exponential, both to a few ulps
    *relative*: q = 1 − p without the cancellation of ``1.0 − p`` (for z ≳ 1, 1.0 − fl(p)
    is off by up to u absolute, all of q once q < u)."""
    e = np.exp(-np.abs(z))
    big = 1.0 / (1.0 + e)
    small = e * big
    positive = z >= 0
    return np.where(positive, big, small), np.where(positive, small, big)


def _silu_prime(z: Array) -> Array:
    """p + z·p·q: z·p·(1.0 − p) lost up to |z|·u (36 u at z = 36.73) to 1.0 − p."""
    p, q = _logistic_pair(z)
    return p + z * p * q


def _silu_second(z: Array) -> Array:
    """p·q·(2 + z(1 − 2p)): with 1.0 − p for q it lost up to |z|·u, like σ'."""
    p, q = _logistic_pair(z)
    return p * q * (2.0 + z * (1.0 - 2.0 * p))


def _tanh_fused(z: Array) -> tuple[Array, Array]:
    t = np.tanh(z)
    d = t * t
    np.subtract(1.0, d, out=d)
    return t, d


def _tanh_inplace(z: Array) -> Array:
    return np.tanh(z, out=z)


def _one_minus_square_inplace(t: Array) -> Array:
    """tanh' = 1 − tanh², from t = tanh z, in t's memory."""
    np.square(t, out=t)
    np.subtract(1.0, t, out=t)
    return t


def _relu_inplace(z: Array) -> Array:
    return np.maximum(z, 0.0, out=z)


def _relu_prime_of_value_inplace(v: Array) -> Array:
    """relu' = 1[z > 0] = sign(relu z) (0 at the kink, as ``_positive``), in v's memory."""
    return np.sign(v, out=v)


def _tanh_prime_inplace(z: Array) -> Array:
    np.tanh(z, out=z)
    np.square(z, out=z)
    np.subtract(1.0, z, out=z)
    return z


def _logistic_fused(z: Array) -> tuple[Array, Array]:
    p = _logistic(z)
    return p, p * (1.0 - p)


def _positive(z: Array) -> Array:
    return (z > 0).astype(np.float64)


def _zeros(z: Array) -> Array:
    return np.zeros_like(z, dtype=np.float64)


_TABLE: tuple[Activation, ...] = (
    Activation("identity", lambda z: z, lambda z: np.ones_like(z), _zeros, 0.0),
    Activation(
        "tanh",
        np.tanh,
        lambda z: 1.0 - np.tanh(z) ** 2,
        lambda z: -2.0 * np.tanh(z) * (1.0 - np.tanh(z) ** 2),
        0.769800358919501,  # 4/(3√3) = 0.76980035891950101934…, the double above
        _tanh_fused,
        _tanh_prime_inplace,
        _tanh_inplace,
        _one_minus_square_inplace,
    ),
    Activation(
        "sigmoid",
        _logistic,
        lambda z: _logistic(z) * (1.0 - _logistic(z)),
        lambda z: _logistic(z) * (1.0 - _logistic(z)) * (1.0 - 2.0 * _logistic(z)),
        0.09622504486493763,  # 1/(6√3) = 0.096225044864937627418…, the double above
        _logistic_fused,
    ),
    Activation(
        "softplus",
        lambda z: np.logaddexp(0.0, z),
        _logistic,
        lambda z: _logistic(z) * (1.0 - _logistic(z)),
        0.25,
    ),
    Activation(
        "erf",
        _erf,
        lambda z: 2.0 / math.sqrt(math.pi) * np.exp(-z * z),
        lambda z: -4.0 / math.sqrt(math.pi) * z * np.exp(-z * z),
        0.9678828980765735,  # 4e^{−1/2}/√(2π) = 0.96788289807657339919…, the double above
    ),
    Activation(
        "gelu",
        lambda z: z * _ndtr(z),
        lambda z: _ndtr(z) + z * _normal_pdf(z),
        lambda z: _normal_pdf(z) * (2.0 - z * z),
        0.7978845608028654,  # 2/√(2π) = 0.79788456080286535587…, the double above
    ),
    Activation("silu", lambda z: z * _logistic(z), _silu_prime, _silu_second, 0.5),
    Activation("sin", np.sin, np.cos, lambda z: -np.sin(z), 1.0),
    Activation("cos", np.cos, lambda z: -np.sin(z), lambda z: -np.cos(z), 1.0),
    Activation(
        "elu",
        lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),
        lambda z: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0.0))),
        lambda z: np.where(z > 0, 0.0, np.exp(np.minimum(z, 0.0))),
        1.0,
    ),
    Activation("quadratic", lambda z: 0.5 * z * z, lambda z: z, np.ones_like, 1.0),
    Activation(
        "relu",
        lambda z: np.maximum(z, 0.0),
        _positive,
        _zeros,
        math.inf,
        value_inplace=_relu_inplace,
        prime_of_value_inplace=_relu_prime_of_value_inplace,
    ),
    Activation(
        "leaky_relu",
        lambda z: np.where(z > 0, z, LEAKY_RELU_SLOPE * z),
        lambda z: np.where(z > 0, 1.0, LEAKY_RELU_SLOPE),
        _zeros,
        math.inf,
    ),
    Activation("abs", np.abs, lambda z: np.sign(z).astype(np.float64), _zeros, math.inf),
)

ACTIVATIONS: dict[str, Activation] = {a.name: a for a in _TABLE}

#: sup_z |σ'(z)| (THEORY.md §10), rounded up: every irrational entry here and every
#: irrational ``lipschitz_derivative`` above is a literal, the double at or above the
#: exact value (tests/test_activations.py checks each against mpmath), so no libm's
#: rounding can put a bound below its constant. gelu: σ'' = φ(z)(2 − z²) vanishes at
#: z = √2, so the sup is Φ(√2) + √2 φ(√2) = Φ(√2) + e^{−1}/√π; silu: at the root
#: z* ≈ 2.3994 of 2 + z(1 − 2p(z)) = 0.
SUP_PRIME: dict[str, float] = {
    "identity": 1.0,
    "tanh": 1.0,
    "sigmoid": 0.25,
    "softplus": 1.0,
    "erf": 1.1283791670955128,  # 2/√π = 1.12837916709551257…; fl(2/√π) = …126 is below
    "gelu": 1.128904145185155,  # Φ(√2) + e^{−1}/√π = 1.12890414518515478…, the double above
    "silu": 1.09983932013,  # upper-rounded at the 12th digit
    "sin": 1.0,
    "cos": 1.0,
    "elu": 1.0,
    "quadratic": math.inf,
    "relu": 1.0,
    "leaky_relu": 1.0,
    "abs": 1.0,
}
assert (*ACTIVATIONS, *ALIASES) == ACTIVATION_NAMES  # names.py lists the same table


def get_activation(name: str) -> Activation:
    """The activation called ``name`` (aliases: swish → silu)."""
    return ACTIVATIONS[ALIASES.get(name, name)]
