"""Gradient flow of the true network beside its closed-form linearization (THEORY.md §1, §5, §7).

``deviation`` owns the ODE and its coordinates, ``checks`` compares the path
with C1–C5, ``simulate`` runs both and measures laziness; ``gd`` runs gradient
descent with a step size, true and linearized, and checks G1–G5 (§13).
"""

#: The per-checkpoint arrays of a simulation (THEORY.md §5, §7), in the JSON's order.
SIMULATION_ARRAYS = (
    "t", "loss", "loss_lin", "param_dist", "param_dist_lin", "gap", "sigma_min_t",
    "jacobian_norm_t", "kernel_change", "weight_change",
)  # fmt: skip

#: The per-checkpoint arrays of a GD simulation (THEORY.md §13), in the JSON's order.
GD_SIMULATION_ARRAYS = (
    "step", "loss", "loss_lin", "param_dist", "param_dist_lin", "path_length", "gap",
    "sigma_min_t", "jacobian_norm_t", "kernel_change", "weight_change",
)  # fmt: skip

#: With class labels (issue 19, ``flow.classes``): the training accuracy of the network and
#: of its linearization and their prediction agreement at each checkpoint, in the JSON's order.
CLASS_ARRAYS = ("accuracy", "accuracy_linear", "agreement")
