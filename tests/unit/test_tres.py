import pytest

from slurm_scoreboard.ingest.tres import gpu_count, memory_bytes, parse_tres


def test_untyped_gpu_entry_is_the_total():
    tres = parse_tres("billing=8,cpu=8,gres/gpu:a100=2,gres/gpu=2,mem=64G,node=1")
    assert gpu_count(tres) == 2


def test_typed_entries_sum_when_untyped_is_absent():
    assert gpu_count(parse_tres("cpu=4,gres/gpu:a100=2,gres/gpu:v100=1")) == 3


def test_gpumem_and_gpuutil_are_not_gpus():
    assert gpu_count(parse_tres("cpu=1,gres/gpumem=20500736K,gres/gpuutil=90")) == 0


def test_memory_entry_with_and_without_unit():
    assert memory_bytes(parse_tres("cpu=1,mem=62.50G")) == int(62.5 * 1024 ** 3)
    assert memory_bytes(parse_tres("cpu=1,mem=4000M")) == 4000 * 1024 ** 2
    assert memory_bytes(parse_tres("cpu=1")) is None


def test_empty_and_malformed():
    assert parse_tres("") == {}
    with pytest.raises(ValueError):
        parse_tres("cpu")
    with pytest.raises(ValueError):
        gpu_count(parse_tres("gres/gpu=two"))


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="gres/pu:a10=,cmemM GT-1234567890", max_size=40))
def test_any_tres_text_gives_counts_or_a_value_error(text):
    try:
        parsed = parse_tres(text)
        gpus = gpu_count(parsed)
        memory = memory_bytes(parsed)
    except ValueError:
        return
    assert type(gpus) is int and gpus >= 0 and (memory is None or memory >= 0)
