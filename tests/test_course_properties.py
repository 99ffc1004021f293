"""The course bridge against the course's own function, for any small weights (hypothesis)."""

import numpy as np
import pytest

import minidl
from tests.test_course import predict_with_network

hypothesis = pytest.importorskip("hypothesis", reason="needs hypothesis: pip install hypothesis")
st = pytest.importorskip("hypothesis.strategies")
given = hypothesis.given
settings = hypothesis.settings


small_ints = st.integers(min_value=-5, max_value=5)


pairs = st.lists(small_ints, min_size=2, max_size=2)


@settings(max_examples=60, deadline=None)
@given(node_0=pairs, node_1=pairs, output=pairs, point=pairs)
def test_from_node_weights_agrees_with_the_courses_function_for_any_weights(node_0, node_1, output, point):
    weights = {"node_0": node_0, "node_1": node_1, "output": output}
    expected = predict_with_network(np.array(point), weights)
    assert minidl.Network.from_node_weights(weights).predict(np.array(point))[0] == expected
