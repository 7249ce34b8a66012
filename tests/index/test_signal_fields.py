"""The index's signal fields come from the signal types (matchers/signals/): each type's
examples are accepted at its own size, a value of another size is refused, and no signal
name is known to the index that is not a signal type."""

from __future__ import annotations

import pytest

from matchers.index.base import (
    EUCLIDEAN_SIGNALS,
    HAMMING_SIGNALS,
    BadQuery,
    CandidateDoc,
    decode_vector,
    hex_to_bits,
)
from matchers.signals import all_signal_types


def test_signal_types_are_discovered_under_their_storage_names():
    # Storage keys: these names never change once released.
    assert {"pdq", "phash", "face", "face_pdq"} <= set(all_signal_types())


@pytest.mark.parametrize("name", sorted(all_signal_types()))
def test_every_signal_type_is_indexed_at_its_own_size(name):
    stype = all_signal_types()[name]
    assert stype.EXAMPLES, f"{name} has no EXAMPLES"
    CandidateDoc("sandbox", "v1", signals={name: list(stype.EXAMPLES)}).validate()
    if stype.kind == "hamming":
        assert HAMMING_SIGNALS[name] == stype.nbits and name not in EUCLIDEAN_SIGNALS
        assert hex_to_bits(name, stype.EXAMPLES[0]).size * 8 == stype.nbits
        with pytest.raises(BadQuery, match=f"expected {stype.nbits}"):
            hex_to_bits(name, stype.EXAMPLES[0] + "00")
    else:
        assert EUCLIDEAN_SIGNALS[name] == stype.dims and name not in HAMMING_SIGNALS
        assert decode_vector(stype.EXAMPLES[0], name).shape == (stype.dims,)


def test_the_index_knows_no_other_signal():
    assert set(HAMMING_SIGNALS) | set(EUCLIDEAN_SIGNALS) == set(all_signal_types())
    with pytest.raises(BadQuery, match="unknown signal"):
        CandidateDoc("sandbox", "v1", signals={"nosuch": ["00"]}).validate()
