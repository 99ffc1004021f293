"""GradientCheckReport, Row and Error (minidl/gradcheck/report.py): rows, table, verdict, raising."""

from __future__ import annotations

import math

import pytest

from minidl import Dense, GradientCheckError, GradientCheckReport, check_gradients
from minidl.gradcheck import GradientCheckRow
from tests.gradcheck.broken import BiasNotSummedOverBatch, X


def test_report_rows_shapes_and_counts_for_dense():
    report = check_gradients(Dense(3, 2, seed=0), X)
    assert isinstance(report, GradientCheckReport)
    assert report.passed and bool(report)
    assert [(row.name, row.shape, row.checked) for row in report.rows] == [
        ("input", (4, 3), 12), ("weight", (3, 2), 6), ("bias", (2,), 2)]
    assert report.max_relative_error == max(row.max_rel_error for row in report.rows)
    assert report.max_relative_error < 1e-7
    assert report.failed_names == [] and report.problems == []
    for row in report.rows:
        assert row.worst_index is not None and len(row.worst_index) == len(row.shape)
        assert row.max_abs_error >= abs(row.backward - row.numerical)


def test_report_table_lists_every_gradient_and_the_verdict():
    table = str(check_gradients(Dense(3, 2, seed=0), X))
    lines = table.splitlines()
    assert lines[0] == "Gradient check of Dense 'dense': passed"
    header = lines[2].split()
    assert header[:2] == ["gradient", "shape"] and header[-1] == "result"
    body = [line.split()[0] for line in lines[4:]]
    assert body == ["input", "weight", "bias"]
    assert all(line.rstrip().endswith("ok") for line in lines[4:])


def test_failed_table_counts_the_wrong_gradients_and_lists_problems():
    row = GradientCheckRow("w", (2,), 0, math.nan, math.nan, None, math.nan, math.nan, False, "no array")
    report = GradientCheckReport("Thing 't'", [row], ["x changed"], eps=1e-6, rtol=1e-5, atol=1e-6)
    lines = str(report).splitlines()
    assert lines[0] == "Gradient check of Thing 't': FAILED (1 of 1 gradients wrong, 1 other problem(s))"
    assert lines[4].split() == ["w", "(2,)", "0/2", "-", "-", "-", "-", "-", "WRONG"]
    assert lines[5:] == ["  w: no array", "  problem: x changed"]
    assert report.requested_atol == 1e-6  # the atol used, when none is given
    assert report.max_relative_error == math.inf
    assert repr(report) == "GradientCheckReport(subject=\"Thing 't'\", passed=False, max_relative_error=inf)"


def test_raise_on_failure_flag_and_passing_report_chains():
    with pytest.raises(GradientCheckError, match="bias") as caught:
        check_gradients(BiasNotSummedOverBatch(), X, raise_on_failure=True)
    assert isinstance(caught.value, AssertionError)
    assert caught.value.report.failed_names == ["bias"]
    report = check_gradients(Dense(3, 2, seed=0), X, raise_on_failure=True)
    assert report.raise_if_failed() is report


def test_report_indexing_by_name():
    report = check_gradients(Dense(3, 2, seed=0), X)
    assert report["weight"].shape == (3, 2)
    with pytest.raises(KeyError, match="input"):
        report["nope"]
