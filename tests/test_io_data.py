"""The data layer with C outputs (issue 19; THEORY.md §14, docs/DESIGN.md "Several
outputs"): shapes and the point-major stacking, encodings, synthetic targets (the C = 1
stream unchanged), CSV/.npz targets and labels, scikit-learn's bundled datasets and their
stratified subsampling, the family calls, sweep axes, and every bad input as one line."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

from ntkcheck.cli import main
from ntkcheck.io import build as build_module
from ntkcheck.io.data import encode_labels, load_data, stratified_sample, synthetic_data
from ntkcheck.io.datasets import SKLEARN_DATASETS
from ntkcheck.io.grid import GridError
from ntkcheck.io.loading import parse_spec
from ntkcheck.io.spec_keys import grid_axis, spec_hash
from ntkcheck.models.registry import family
from tests.conftest import ROOT

MODEL = "model: {width: 64}\n"


def _loaded(tmp_path, data: str, seed: int = 0, model: str = MODEL):
    text = f"seed: {seed}\ngamma: 1\ndata: {data}\n{model}"
    return parse_spec(text, source="s.yaml", base_dir=tmp_path)


def _dataset(tmp_path, data: str, seed: int = 0):
    """The data the product builds for the spec: the first stream spawned from its seed."""
    data_seq, _ = np.random.SeedSequence(seed).spawn(2)
    return load_data(_loaded(tmp_path, data, seed), np.random.default_rng(data_seq))


# --- encodings and stacking -------------------------------------------------------


def test_encodings_exactly():
    labels = np.array([2, 0, 1, 2])
    onehot = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
    assert np.array_equal(encode_labels(labels, 3, "onehot"), onehot)
    assert np.array_equal(encode_labels(labels, 3, "centered"), onehot - 1 / 3)
    assert np.array_equal(encode_labels(labels, 3, "pm1"), 2 * onehot - 1)
    assert np.allclose(encode_labels(labels, 3, "centered").sum(axis=1), 0, atol=1e-15)
    assert set(np.unique(encode_labels(labels, 3, "pm1"))) == {-1.0, 1.0}
    # a class without a point is a zero column (C from the class list, not the labels)
    assert np.array_equal(encode_labels(np.array([0, 0]), 3, "onehot")[:, 1:], np.zeros((2, 2)))


@pytest.mark.parametrize("target", ["teacher", "linear", "sign", "random"])
def test_synthetic_outputs_are_stacked_point_major(tmp_path, target):
    ds = _dataset(tmp_path, f"{{n: 7, d: 3, outputs: 4, target: {target}}}")
    assert (ds.n, ds.d, ds.outputs, ds.rows) == (7, 3, 4, 28)
    assert ds.y.shape == (28,) and ds.Y.shape == (7, 4)
    for j in range(7):
        for c in range(4):
            assert ds.y[j * 4 + c] == ds.Y[j, c]
    assert ds.labels is None and ds.classes is None
    # every column has unit root-mean-square (noise 0)
    assert np.allclose(np.sqrt(np.mean(ds.Y**2, axis=0)), 1.0, rtol=1e-14)


def _old_synthetic(n, d, *, inputs, target, noise, rng):
    """The single-target generator before issue 19, verbatim: the C = 1 reference."""
    X = rng.standard_normal((n, d))
    if inputs == "sphere":
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        X *= math.sqrt(d) / np.where(norms > 0, norms, 1.0)
    teacher = rng.standard_normal(d)
    teacher /= np.linalg.norm(teacher) or 1.0
    z = X @ teacher
    y = {
        "teacher": lambda: np.tanh(z),
        "linear": lambda: z,
        "sign": lambda: np.where(z >= 0, 1.0, -1.0),
        "random": lambda: rng.standard_normal(n),
    }[target]()
    rms = math.sqrt(float(np.mean(y * y)))
    y = y / rms if rms > 0 else y
    if noise > 0:
        y = y + noise * rng.standard_normal(n)
    return X, y


@pytest.mark.parametrize("target", ["teacher", "linear", "sign", "random"])
@pytest.mark.parametrize("inputs", ["sphere", "gaussian"])
@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_single_output_stream_is_unchanged(target, inputs, noise):
    """C = 1 draws the same numbers in the same order as before: byte-identical data."""
    kw = dict(inputs=inputs, target=target, noise=noise)
    X0, y0 = _old_synthetic(33, 5, rng=np.random.default_rng(7), **kw)
    X1, t = synthetic_data(33, 5, rng=np.random.default_rng(7), **kw)
    assert t.Y is not None and t.Y.shape == (33, 1)
    assert np.array_equal(X0, X1) and np.array_equal(y0, t.Y[:, 0])


def test_first_output_is_the_single_target_and_the_others_are_new_teachers():
    """Teachers are drawn as rows of one (C, d) draw after X: output 0 is the C = 1
    target; the others are tanh of further unit directions (checked independently)."""
    n, d, C = 40, 6, 3
    X1, t1 = synthetic_data(
        n, d, inputs="sphere", target="teacher", noise=0, rng=np.random.default_rng(3)
    )
    X3, t3 = synthetic_data(
        n, d, inputs="sphere", target="teacher", noise=0, rng=np.random.default_rng(3), outputs=C
    )
    assert np.array_equal(X1, X3) and np.array_equal(t1.Y[:, 0], t3.Y[:, 0])
    rng = np.random.default_rng(3)
    rng.standard_normal((n, d))
    W = rng.standard_normal((C, d))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    Z = np.tanh(X3 @ W.T)
    expected = Z / np.sqrt(np.mean(Z**2, axis=0))
    assert np.allclose(t3.Y, expected, rtol=1e-13, atol=1e-14)
    assert abs(np.corrcoef(t3.Y[:, 1], t3.Y[:, 2])[0, 1]) < 0.9  # distinct directions


@pytest.mark.parametrize("encoding", ["onehot", "centered", "pm1"])
def test_synthetic_classes_are_the_argmax_of_a_random_teacher(tmp_path, encoding):
    ds = _dataset(tmp_path, f"{{n: 50, d: 4, target: classes, outputs: 3, encoding: {encoding}}}")
    assert ds.outputs == 3 and ds.classes == ("0", "1", "2") and ds.labels.shape == (50,)
    rng = np.random.default_rng(np.random.SeedSequence(0).spawn(2)[0])
    X = rng.standard_normal((50, 4))
    X *= 2.0 / np.linalg.norm(X, axis=1, keepdims=True)
    W = rng.standard_normal((3, 4))
    W /= np.linalg.norm(W, axis=1, keepdims=True)  # unit directions w*_c
    assert np.allclose(ds.X, X, rtol=1e-15)
    assert np.array_equal(ds.labels, np.argmax(X @ W.T, axis=1))
    assert np.array_equal(ds.Y, encode_labels(ds.labels, 3, encoding))
    assert "3 classes" in ds.description and encoding in ds.description


def test_default_encoding_is_onehot(tmp_path):
    ds = _dataset(tmp_path, "{n: 20, d: 3, target: classes, outputs: 4}")
    assert set(np.unique(ds.Y)) == {0.0, 1.0} and np.array_equal(ds.Y.sum(axis=1), np.ones(20))


# --- files ----------------------------------------------------------------------


def test_npz_round_trips_regression_matrix_and_labels(tmp_path):
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((9, 3)), rng.standard_normal((9, 4))
    np.savez(tmp_path / "m.npz", X=X, y=Y)
    ds = _dataset(tmp_path, "{source: file, path: m.npz}")
    assert ds.outputs == 4 and np.array_equal(ds.X, X) and np.array_equal(ds.Y, Y)
    assert np.array_equal(ds.y, Y.reshape(-1)) and ds.labels is None
    labels = np.array([3, 7, 3, 5, 7, 7, 3, 5, 5])
    np.savez(tmp_path / "l.npz", X=X, y=labels)
    # integers without encoding: one regression target, as before issue 19
    plain = _dataset(tmp_path, "{source: file, path: l.npz}")
    assert plain.outputs == 1 and np.array_equal(plain.y, labels.astype(float))
    # with encoding: class labels, classes the sorted label values
    ds = _dataset(tmp_path, "{source: file, path: l.npz, encoding: centered}")
    assert ds.classes == ("3", "5", "7") and np.array_equal(ds.labels, [0, 2, 0, 1, 2, 2, 0, 1, 1])
    assert np.array_equal(ds.Y, encode_labels(ds.labels, 3, "centered"))
    # whole-number floats are labels too; classes keep the listed order and drop the rest
    np.savez(tmp_path / "f.npz", X=X, y=labels.astype(float))
    ds = _dataset(tmp_path, "{source: file, path: f.npz, encoding: onehot, classes: [7, 3]}")
    keep = np.isin(labels, [3, 7])
    assert ds.classes == ("7", "3") and np.array_equal(ds.X, X[keep])
    assert np.array_equal(ds.labels, np.where(labels[keep] == 7, 0, 1))


def test_y_of_shape_n_by_1_stays_one_output(tmp_path):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((5, 2)), rng.standard_normal((5, 1))
    np.savez(tmp_path / "a.npz", X=X, y=y)
    ds = _dataset(tmp_path, "{source: file, path: a.npz}")
    assert ds.outputs == 1 and ds.y.shape == (5,) and np.array_equal(ds.y, y[:, 0])


def _write_csv(path, header, rows):
    lines = [",".join(header)] if header else []
    lines += [",".join(repr(float(v)) if not isinstance(v, str) else v for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n")


def test_csv_target_columns_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    _write_csv(tmp_path / "t.csv", ["a", "b", "c", "y1", "y2"], np.hstack([X, Y]))
    ds = _dataset(tmp_path, "{source: file, path: t.csv, target_columns: 2}")
    assert ds.outputs == 2 and np.array_equal(ds.X, X) and np.array_equal(ds.Y, Y)
    one = _dataset(tmp_path, "{source: file, path: t.csv, target_columns: 1}")
    default = _dataset(tmp_path, "{source: file, path: t.csv}")
    assert np.array_equal(one.y, default.y) and np.array_equal(one.X, default.X)
    assert np.array_equal(default.X, np.hstack([X, Y[:, :1]])) and default.outputs == 1


@pytest.mark.parametrize("column", ["label", "2", "-3"])
def test_csv_label_column_anywhere(tmp_path, column):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((8, 3))
    labels = [1, 0, 2, 2, 1, 0, 0, 2]
    rows = [[X[i, 0], str(labels[i]), X[i, 1], X[i, 2]] for i in range(8)]
    rows[3][1] = "2.0"  # a whole number written as a float is a label too
    _write_csv(tmp_path / "t.csv", ["a", "label", "b", "c"], rows)
    value = column if column[0] in "-0123456789" else f"'{column}'"
    ds = _dataset(tmp_path, f"{{source: file, path: t.csv, label_column: {value}, encoding: pm1}}")
    assert np.array_equal(ds.X, X) and ds.X.flags.c_contiguous
    assert ds.classes == ("0", "1", "2") and np.array_equal(ds.labels, labels)
    assert np.array_equal(ds.Y, 2 * np.eye(3)[labels] - 1) and ds.y.shape == (24,)


def test_label_column_positions_name_the_file_column(tmp_path, capsys):
    """X's columns keep their file columns in messages: with the label first, X[:, 1] is
    the file's column 3."""
    (tmp_path / "t.csv").write_text("label,a,b\n0,1,5\n1,2,5\n0,3,5\n")
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "gamma: 1\ndata: {source: file, path: t.csv, label_column: 1, normalize: standardize}\n"
        + MODEL
    )
    assert main(["certify", str(spec)]) == 2
    assert "standardize: column 3 of 't.csv' is constant" in capsys.readouterr().err


# --- stratified subsampling and scikit-learn -----------------------------------------


def test_stratified_sample_proportions_and_determinism():
    labels = np.repeat(np.arange(4), [50, 30, 15, 5])
    labels = labels[np.random.default_rng(1).permutation(100)]
    for n in (1, 7, 10, 33, 64, 99):
        idx = stratified_sample(labels, n, np.random.default_rng(5))
        assert idx.size == n and np.array_equal(idx, np.unique(idx))  # distinct, ascending
        counts = np.bincount(labels[idx], minlength=4)
        exact = n * np.array([50, 30, 15, 5]) / 100
        assert np.all(counts >= np.floor(exact)) and np.all(counts <= np.ceil(exact))
        again = stratified_sample(labels, n, np.random.default_rng(5))
        assert np.array_equal(idx, again)
    other = stratified_sample(labels, 33, np.random.default_rng(6))
    assert not np.array_equal(other, stratified_sample(labels, 33, np.random.default_rng(5)))
    assert np.array_equal(stratified_sample(labels, 100, np.random.default_rng(9)), np.arange(100))


def test_stratified_remainders_go_to_the_largest():
    # N_k = (5, 3, 2), n = 5: n·N_k = 25, 15, 10 = 10·(2, 1, 1) + (5, 5, 0); the one point
    # left goes to the largest remainder, a tie of classes 0 and 1 → the lower, class 0
    labels = np.repeat(np.arange(3), [5, 3, 2])
    counts = np.bincount(labels[stratified_sample(labels, 5, np.random.default_rng(0))])
    assert counts.tolist() == [3, 1, 1]


sklearn = pytest.importorskip("sklearn.datasets")


@pytest.mark.parametrize("name", list(SKLEARN_DATASETS))
def test_sklearn_table_matches_the_loaders(name):
    info = SKLEARN_DATASETS[name]
    bunch = getattr(sklearn, f"load_{name}")()
    assert bunch.data.shape == (info.samples, info.features)
    if info.classes is None:
        assert bunch.target.dtype.kind == "f"
        return
    assert tuple(str(c) for c in bunch.target_names) == info.classes
    assert tuple(np.bincount(bunch.target).tolist()) == info.counts


def test_digits_subset_is_stratified_and_seeded(tmp_path):
    spec = "{source: sklearn, name: digits, n: 200, classes: [0, 1, 2], normalize: sphere}"
    ds = _dataset(tmp_path, spec)
    bunch = sklearn.load_digits()
    assert ds.X.shape == (200, 64) and ds.outputs == 3 and ds.rows == 600
    assert ds.classes == ("0", "1", "2")
    # 178, 182, 177 of 537: 66.29, 67.78, 65.92 → 66 + the two largest remainders
    assert np.bincount(ds.labels).tolist() == [66, 68, 66]
    assert np.array_equal(ds.Y, np.eye(3)[ds.labels])
    # every point is a digits image of its class, each used once, up to the sphere scaling
    images = bunch.data / np.linalg.norm(bunch.data, axis=1, keepdims=True) * 8.0
    rows = [int(np.flatnonzero(np.all(np.isclose(images, x, rtol=1e-14), axis=1))[0]) for x in ds.X]
    assert len(set(rows)) == 200 and np.array_equal(bunch.target[rows], ds.labels)
    assert rows == sorted(rows)  # dataset order
    same = _dataset(tmp_path, spec)
    other = _dataset(tmp_path, spec, seed=1)
    assert np.array_equal(ds.X, same.X) and not np.array_equal(ds.X, other.X)
    assert "sklearn digits: 200 of 537 points, 3 classes, onehot targets" in ds.description


def test_iris_by_class_names_in_the_given_order(tmp_path):
    ds = _dataset(tmp_path, "{source: sklearn, name: iris, classes: [virginica, setosa]}")
    bunch = sklearn.load_iris()
    keep = np.isin(bunch.target, [0, 2])
    assert ds.classes == ("virginica", "setosa") and ds.n == 100  # all of both classes
    assert np.array_equal(ds.X, bunch.data[keep])
    assert np.array_equal(ds.labels, np.where(bunch.target[keep] == 2, 0, 1))
    first = _dataset(tmp_path, "{source: sklearn, name: iris, classes: 2, encoding: centered}")
    assert first.classes == ("setosa", "versicolor") and np.allclose(first.Y.sum(axis=1), 0)


@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
def test_other_classification_sets_load(tmp_path, name):
    info = SKLEARN_DATASETS[name]
    ds = _dataset(tmp_path, f"{{source: sklearn, name: {name}, n: 100, normalize: standardize}}")
    assert ds.X.shape == (100, info.features) and ds.outputs == len(info.classes)
    assert np.allclose(ds.X.mean(axis=0), 0, atol=1e-12)


def test_sklearn_diabetes_is_the_shipped_csv(tmp_path):
    """diabetes: raw inputs and the standardized target — specs/data/diabetes.csv's data."""
    ds = _dataset(tmp_path, "{source: sklearn, name: diabetes, normalize: standardize}")
    csv = _dataset(
        ROOT / "specs", "{source: file, path: data/diabetes.csv, normalize: standardize}"
    )
    assert ds.outputs == 1 and ds.labels is None and ds.X.shape == (442, 10)
    assert np.allclose(ds.X, csv.X, rtol=0, atol=1e-12)
    assert np.allclose(ds.y, csv.y, rtol=0, atol=1e-9)  # the CSV holds 10 digits
    sub = _dataset(tmp_path, "{source: sklearn, name: diabetes, n: 50}")
    assert sub.X.shape == (50, 10)


# --- the families are called with outputs=C only when C > 1 ----------------------------


class _Recording:
    """A family that records how it is called and builds the real two-layer model (its
    forward is not called: init symmetric gives f0 ≡ 0)."""

    def __init__(self):
        self.real = family("two_layer")
        self.calls = []

    def build(self, block, d, rng, ctx, **kw):
        self.calls.append(("build", d, kw))
        return self.real.build(block, d, rng, ctx)

    def plan_bytes(self, block, n, d, **kw):
        self.calls.append(("plan_bytes", n, d, kw))
        return self.real.plan_bytes(block, n, d)

    def f0_is_zero(self, block):
        return self.real.f0_is_zero(block)


@pytest.mark.parametrize(
    "data,calls",
    [
        ("{n: 12, d: 4}", [("plan_bytes", 12, 4, {}), ("build", 4, {})]),
        (
            "{n: 12, d: 4, outputs: 3}",
            [("plan_bytes", 12, 4, {"outputs": 3}), ("build", 4, {"outputs": 3})],
        ),
        (
            "{source: sklearn, name: iris, n: 30}",
            [("plan_bytes", 30, 4, {"outputs": 3}), ("build", 4, {"outputs": 3})],
        ),
        (
            "{source: sklearn, name: digits, classes: [3, 5]}",  # n: every point of both
            [("plan_bytes", 183 + 182, 64, {"outputs": 2}), ("build", 64, {"outputs": 2})],
        ),
        ("{source: sklearn, name: diabetes}", [("plan_bytes", 442, 10, {}), ("build", 10, {})]),
    ],
)
def test_family_calls(tmp_path, monkeypatch, data, calls):
    fam = _Recording()
    monkeypatch.setattr(build_module, "family", lambda name: fam)
    p = build_module.build_problem(_loaded(tmp_path, data))
    assert fam.calls == calls
    C = p.outputs
    assert p.y.shape == (p.rows,) == (p.n * C,) and p.f0.shape == (p.rows,)
    assert np.array_equal(p.Y.reshape(-1), p.y)
    if "iris" in data:
        assert p.classes == ("setosa", "versicolor", "virginica") and p.labels.shape == (30,)
        assert np.bincount(p.labels).tolist() == [10, 10, 10]
        assert np.array_equal(p.Y, np.eye(3)[p.labels])
    else:
        assert "sklearn" in data or (p.labels is None and p.classes is None)


# --- sweeps -----------------------------------------------------------------------------


def test_outputs_and_classes_are_integer_sweep_axes():
    assert grid_axis("data.outputs", [2, 4], "--grid data.outputs").values == ((2,), (4,))
    assert grid_axis("data.outputs", "range(2, 5)", "o").values == ((2,), (3,), (4,))
    # data.classes sweeps its count form (the first K classes) or lists of classes
    assert grid_axis("data.classes", "range(2, 4)", "o").values == ((2,), (3,))
    assert grid_axis("data.classes", [[0, 1], [0, 2]], "o").values == (([0, 1],), ([0, 2],))
    with pytest.raises(GridError, match="numbers, names or lists of them"):
        grid_axis("data.classes", [[[0], 1]], "o")


def test_sweep_plan_over_outputs(tmp_path):
    from ntkcheck.run.sweep import SpecSource, plan_sweep, resolve_axes

    source = SpecSource(
        "gamma: 1\ndata: {n: 8, d: 3}\nmodel: {width: 64}\n", "s.yaml", str(tmp_path)
    )
    plan = plan_sweep(source, {}, resolve_axes(source.parse({}), ["data.outputs=[1,2,4]"], None))
    assert [p.values for p in plan.points] == [(("data.outputs", c),) for c in (1, 2, 4)]
    assert all(p.error is None for p in plan.points)
    assert len({p.spec_hash for p in plan.points}) == 3


def test_unset_new_keys_keep_the_spec_hash(tmp_path):
    """Rows files written before issue 19 resume: its keys, unset, are not hashed."""
    base = _loaded(tmp_path, "{n: 8, d: 3}").spec
    assert spec_hash(base) == spec_hash(_loaded(tmp_path, "{n: 8, d: 3, outputs: null}").spec)
    assert spec_hash(base) == spec_hash(_loaded(tmp_path, "{n: 8, d: 3, outputs: 1}").spec)
    assert spec_hash(base) != spec_hash(_loaded(tmp_path, "{n: 8, d: 3, outputs: 2}").spec)


# --- bad input: one line, exit 2 ------------------------------------------------------


def _files(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 2))
    labels = np.array([0, 1, 2, 0, 1, 2])
    np.savez(tmp_path / "lab.npz", X=X, y=labels)
    np.savez(tmp_path / "frac.npz", X=X, y=labels + 0.5)
    np.savez(tmp_path / "multi.npz", X=X, y=rng.standard_normal((6, 3)))
    np.savez(tmp_path / "cube.npz", X=X, y=rng.standard_normal((6, 2, 2)))
    np.savez(tmp_path / "long.npz", X=X, y=rng.standard_normal(7))
    np.savez(tmp_path / "one.npz", X=X, y=np.zeros(6, dtype=int))
    rows = "\n".join(f"{float(X[i, 0])!r},{labels[i]},{float(X[i, 1])!r}" for i in range(6))
    (tmp_path / "t.csv").write_text("a,label,b\n" + rows + "\n")
    (tmp_path / "text.csv").write_text("a,label,b\n1,cat,2\n3,dog,4\n")
    (tmp_path / "half.csv").write_text("a,label,b\n1,0,2\n3,1.5,4\n")
    (tmp_path / "noheader.csv").write_text("1,0,2\n3,1,4\n")


# (command, data block, fragment of the one line)
BAD = [
    # a label column that does not exist
    (
        "certify",
        "{source: file, path: t.csv, label_column: lable}",
        "data.label_column: 'lable' is not a column of 't.csv'; did you mean 'label'?",
    ),
    (
        "certify",
        "{source: file, path: t.csv, label_column: 9}",
        "data.label_column: column 9 does not exist: 't.csv' has 3 columns",
    ),
    ("certify", "{source: file, path: t.csv, label_column: -4}", "column -4 does not exist"),
    (
        "certify",
        "{source: file, path: noheader.csv, label_column: label}",
        "'noheader.csv' has no header row",
    ),
    (
        "validate",
        "{source: file, path: t.csv, label_column: 0}",
        "data.label_column: must be a column's header name or number (1 is the first",
    ),
    # labels that are not integers
    (
        "certify",
        "{source: file, path: text.csv, label_column: label}",
        "line 2, column 2: 'cat' is not an integer class label",
    ),
    (
        "certify",
        "{source: file, path: half.csv, label_column: 2}",
        "line 3, column 2: '1.5' is not an integer class label",
    ),
    (
        "certify",
        "{source: file, path: frac.npz, encoding: onehot}",
        "y[0] = 0.5 is not an integer class label",
    ),
    # a class listed in classes that has no sample
    (
        "certify",
        "{source: file, path: lab.npz, encoding: onehot, classes: [0, 7]}",
        "data.classes: class 7 has no sample in 'lab.npz' (its classes: 0, 1, 2); remove it",
    ),
    (
        "certify",
        "{source: file, path: t.csv, label_column: label, classes: 4}",
        "data.classes: 4 classes asked for but 't.csv' has 3",
    ),
    (
        "validate",
        "{source: sklearn, name: iris, classes: [setosa, rose]}",
        "data.classes: class 'rose' has no sample in iris (its classes: setosa, versicolor, virginica)",
    ),
    (
        "validate",
        "{source: sklearn, name: digits, classes: [1, 10]}",
        "class 10 has no sample in digits",
    ),
    (
        "validate",
        "{source: sklearn, name: iris, classes: [0, 0]}",
        "data.classes: 0 is listed twice",
    ),
    (
        "validate",
        "{source: sklearn, name: iris, classes: 1}",
        "a count of classes must be from 2 to 3",
    ),
    (
        "validate",
        "{source: file, path: t.csv, label_column: 2, classes: 1}",
        "data.classes: a count of classes must be at least 2; got 1",
    ),
    (
        "validate",
        "{source: sklearn, name: iris, classes: [0, 1.5]}",
        "data.classes: must be a count K",
    ),
    (
        "certify",
        "{source: file, path: one.npz, encoding: onehot}",
        "has only one class (0); classification needs at least 2",
    ),
    # target_columns larger than the file's columns, or leaving no input
    (
        "certify",
        "{source: file, path: t.csv, target_columns: 5}",
        "data.target_columns: 5 target columns leave no input column: 't.csv' has 3 columns; use at most 2",
    ),
    ("certify", "{source: file, path: t.csv, target_columns: 3}", "use at most 2"),
    (
        "validate",
        "{source: file, path: lab.npz, target_columns: 2}",
        "data.target_columns: only used with a .csv file",
    ),
    (
        "validate",
        "{source: file, path: t.csv, target_columns: 1, label_column: 2}",
        "give either target_columns",
    ),
    # y of a shape that matches neither (n,) nor (n, C)
    (
        "certify",
        "{source: file, path: cube.npz}",
        "y must have shape (6,) (one target, or class labels) or (6, C) (C targets) to match X (6, 2), got (6, 2, 2)",
    ),
    ("certify", "{source: file, path: long.npz}", "got (7,)"),
    # outputs: 0, and classes with too few outputs
    (
        "validate",
        "{n: 5, d: 2, outputs: 0}",
        "data.outputs: must be greater than or equal to 1; got 0",
    ),
    ("validate", "{n: 5, d: 2, target: classes}", "data.target: classes needs outputs: C ≥ 2"),
    (
        "validate",
        "{n: 5, d: 2, target: classes, outputs: 1}",
        "data.outputs: classes needs outputs: C ≥ 2",
    ),
    (
        "validate",
        "{n: 5, d: 2, target: classes, outputs: 2, noise: 0.1}",
        "data.noise: is Gaussian noise on regression targets",
    ),
    # encoding with regression targets
    (
        "validate",
        "{n: 5, d: 2, encoding: onehot}",
        "data.encoding: encodes class labels, but target: teacher gives regression targets",
    ),
    (
        "validate",
        "{source: file, path: t.csv, encoding: pm1}",
        "data.encoding: encodes class labels, but the last column of 't.csv' is read as regression targets",
    ),
    (
        "validate",
        "{source: file, path: t.csv, target_columns: 2, encoding: pm1}",
        "the last 2 columns of 't.csv' are",
    ),
    (
        "certify",
        "{source: file, path: multi.npz, encoding: onehot}",
        "data.encoding: 'onehot' encodes class labels, but y of 'multi.npz' has shape (6, 3): 3 regression targets",
    ),
    (
        "validate",
        "{source: sklearn, name: diabetes, encoding: onehot}",
        "data.encoding: diabetes is a regression dataset",
    ),
    (
        "validate",
        "{source: file, path: lab.npz, classes: [0, 1]}",
        "add `encoding: onehot` to read labels",
    ),
    # n larger than the dataset (or than its chosen classes), or too small for them
    (
        "validate",
        "{source: sklearn, name: digits, n: 5000}",
        "data.n: is 5000 but there are only the 1797 samples of digits; use n ≤ 1797",
    ),
    (
        "validate",
        "{source: sklearn, name: iris, n: 120, classes: [setosa, virginica]}",
        "only the 100 samples of the 2 classes kept of iris; use n ≤ 100",
    ),
    ("validate", "{source: sklearn, name: diabetes, n: 443}", "use n ≤ 442"),
    (
        "validate",
        "{source: sklearn, name: iris, n: 2}",
        "data.n: 2 points cannot hold one of each of the 3 classes",
    ),
    # unknown or missing sklearn name; keys of another source
    (
        "validate",
        "{source: sklearn, name: digitz}",
        "data.name: must be 'digits', 'iris', 'wine', 'breast_cancer' or 'diabetes'; got 'digitz' (did you mean 'digits'?)",
    ),
    (
        "validate",
        "{source: sklearn}",
        "data.source: required for source: sklearn; add `name: digits`",
    ),
    (
        "validate",
        "{source: sklearn, name: iris, d: 4}",
        "data.d: only used with `source: synthetic`, not sklearn",
    ),
    (
        "validate",
        "{n: 5, d: 2, classes: 3}",
        "synthetic classes: `target: classes` with `outputs: C`",
    ),
    ("validate", "{source: skl}", "(did you mean 'sklearn'?)"),
]


@pytest.mark.parametrize("command,data,fragment", BAD, ids=[f"{c}:{d}" for c, d, _ in BAD])
def test_bad_data_is_one_line(tmp_path, capsys, command, data, fragment):
    _files(tmp_path)
    spec = tmp_path / "s.yaml"
    spec.write_text(f"gamma: 1\ndata: {data}\n{MODEL}")
    argv = [command, str(spec)] + (["-f", "text"] if command == "certify" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ntkcheck: error: "), err
    assert fragment in lines[0] and "internal error" not in lines[0], lines[0]
    if command == "validate":  # a spec error is a certify error too
        assert main(["certify", str(spec), "-f", "text"]) == 2
        assert fragment in capsys.readouterr().err


def test_sklearn_missing_names_the_extra(tmp_path, capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else real(name, *a)
    )
    spec = tmp_path / "s.yaml"
    spec.write_text("gamma: 1\ndata: {source: sklearn, name: diabetes}\n" + MODEL)
    for command in (["validate"], ["certify", "-f", "text"]):
        assert main([command[0], str(spec), *command[1:]]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and 'pip install "ntkcheck[datasets]"' in err[0], err
        assert "data.source: sklearn needs scikit-learn" in err[0]


def test_digits_cannot_be_standardized_and_says_what_to_use(tmp_path):
    """digits has pixels that are 0 in every image: no column can be dropped from a
    bundled set, so the fix names the other normalizations."""
    from ntkcheck.errors import DataError

    with pytest.raises(
        DataError,
        match=r"standardize: X\[:, 0\] of digits is constant; use normalize: sphere or none",
    ):
        _dataset(tmp_path, "{source: sklearn, name: digits, normalize: standardize}")


@pytest.mark.parametrize(
    "data",
    [
        "{n: 12, d: 4, outputs: 3}",
        "{n: 12, d: 4, target: classes, outputs: 3, encoding: centered}",
        "{source: sklearn, name: digits, n: 500, classes: [0, 1, 2], normalize: sphere}",
        "{source: sklearn, name: iris, classes: 2, encoding: pm1}",
        "{source: file, path: t.csv, label_column: label, classes: [2, 0]}",
        "{source: file, path: t.csv, target_columns: 2}",
        "{source: file, path: multi.npz}",
        "{source: file, path: lab.npz, encoding: onehot}",
    ],
)
def test_multi_output_specs_validate(tmp_path, capsys, data):
    _files(tmp_path)
    spec = tmp_path / "s.yaml"
    spec.write_text(f"gamma: 1\ndata: {data}\n{MODEL}")
    assert main(["validate", str(spec)]) == 0, capsys.readouterr().err
