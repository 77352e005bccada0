import pytest
import torch

from starlib.util.seed import seed_everything

torch.set_num_threads(2)


@pytest.fixture
def seeded():
    seed_everything(0)
