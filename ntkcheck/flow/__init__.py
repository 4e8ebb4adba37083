"""Gradient flow of the true network beside its closed-form linearization (THEORY.md §1, §5, §7).

``deviation`` owns the ODE and its coordinates, ``checks`` compares the path
with C1–C5, ``simulate`` runs both and measures laziness.
"""

#: The per-checkpoint arrays of a simulation (THEORY.md §5, §7), in the JSON's order.
SIMULATION_ARRAYS = (
    "t", "loss", "loss_lin", "param_dist", "param_dist_lin", "gap", "sigma_min_t",
    "jacobian_norm_t", "kernel_change", "weight_change",
)  # fmt: skip
