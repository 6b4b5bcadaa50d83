"""dynet.utils.summary: the torchsummary-style table, its totals and its side effects."""
import numpy as np
import pytest

import dynet
from dynet import nn
from dynet.utils import summary
from tests.conftest import to_numpy


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


LENET_TABLE = """\
----------------------------------------------------------------
        Layer (type)               Output Shape         Param #
================================================================
            Conv2d-1            [-1, 6, 28, 28]             156
              ReLU-2            [-1, 6, 28, 28]               0
         MaxPool2d-3            [-1, 6, 14, 14]               0
            Conv2d-4           [-1, 16, 10, 10]           2,416
              ReLU-5           [-1, 16, 10, 10]               0
         MaxPool2d-6             [-1, 16, 5, 5]               0
           Flatten-7                  [-1, 400]               0
            Linear-8                  [-1, 120]          48,120
              ReLU-9                  [-1, 120]               0
           Linear-10                   [-1, 84]          10,164
             ReLU-11                   [-1, 84]               0
           Linear-12                   [-1, 10]             850
================================================================
Total params: 61,706
Trainable params: 61,706
Non-trainable params: 0
----------------------------------------------------------------
Input size (MB): 0.00
Forward/backward pass size (MB): 0.11
Params size (MB): 0.24
Estimated Total Size (MB): 0.35
----------------------------------------------------------------"""


def test_lenet_summary_text_printed_and_returned(capsys):
    text = summary(LeNet(), (1, 28, 28))
    assert text == LENET_TABLE
    assert capsys.readouterr().out == LENET_TABLE + "\n"


def test_batch_size_and_frozen_parameters(capsys):
    model = LeNet()
    model.features.requires_grad_(False)
    text = summary(model, (1, 28, 28), batch_size=16)
    assert "[16, 6, 28, 28]" in text and "[16, 10]" in text
    assert "Trainable params: 59,134" in text
    assert "Non-trainable params: 2,572" in text
    # sizes scale with the batch: 16 x 3136 input bytes, 16 x 120,016 activation bytes
    assert "Input size (MB): 0.05" in text
    assert "Forward/backward pass size (MB): 1.83" in text


def test_summary_has_no_side_effects():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Dropout(0.5))
    model.train()
    model[1].eval()  # a mixed state must come back exactly
    before = {k: to_numpy(v).copy() for k, v in model.state_dict().items()}
    summary(model, (4,))
    assert [m.training for m in model.modules()] == [True, True, False, True]
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(to_numpy(v), before[k], err_msg=k)
    assert all(not m._forward_hooks for m in model.modules())
    assert dynet.is_grad_enabled()
    assert all(p.grad is None for p in model.parameters())


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.lin = nn.Linear(3, 4)

    def forward(self, idx, x):
        return self.emb(idx).sum(1) + self.lin(x)


def test_multiple_inputs_with_dtypes():
    text = summary(TwoInputs(), [(5,), (3,)], dtypes=[dynet.int64, dynet.float32])
    lines = text.splitlines()
    assert lines[3].split() == ["Embedding-1", "[-1,", "5,", "4]", "40"]
    assert lines[4].split() == ["Linear-2", "[-1,", "4]", "16"]
    assert "Total params: 56" in text
    # the int64 input counts 8 bytes per element: 5 * 8 + 3 * 4 = 52 bytes
    assert "Input size (MB): 0.00" in text


def test_tuple_outputs_and_shared_layers():
    class Split(nn.Module):
        def forward(self, x):
            return x[:, :2], x[:, 2:]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.shared = nn.Linear(4, 4)
            self.split = Split()

        def forward(self, x):
            return self.split(self.shared(self.shared(x)))

    text = summary(Net(), (4,))
    assert "[[-1, 2], [-1, 2]]" in text
    assert text.count("Linear-") == 2  # one row per call, as torchsummary
    assert "Total params: 20" in text  # but the shared weights count once


def test_summary_on_device(device):
    model = LeNet().to(device)
    text = summary(model, (1, 28, 28))
    assert "Total params: 61,706" in text
    assert all(p.device == dynet.device(device) for p in model.parameters())


def test_torchinfo_convention_batch_included(capsys):
    # torchinfo's summary(model, input_size=(64, 1, 28, 28)) includes the batch dimension
    text = summary(LeNet(), input_size=(64, 1, 28, 28))
    assert text == summary(LeNet(), (1, 28, 28), batch_size=64)
    assert "[64, 6, 28, 28]" in text and "[64, 10]" in text
    assert "Total params: 61,706" in text
    assert "Input size (MB): 0.19" in text  # 64 x 784 x 4 bytes
    # the explicit form, for models where both readings would run
    assert summary(LeNet(), (8, 1, 28, 28), batch_dim=None) == \
        summary(LeNet(), (1, 28, 28), batch_size=8)
    model = nn.Sequential(nn.Linear(4, 3))
    assert "[-1, 5, 3]" in summary(model, (5, 4))  # ambiguous: torchsummary's reading
    assert "[5, 3]" in summary(model, (5, 4), batch_dim=None).splitlines()[3]


def test_bad_input_size_reports_the_first_error():
    with pytest.raises(RuntimeError, match=r"conv2d, but got input of size: \[2, 64, 1, 28"):
        summary(LeNet(), (64, 1, 28, 28), batch_dim=0)
    # neither reading runs: the error is the one for the torchsummary reading
    with pytest.raises(RuntimeError, match=r"got input of size: \[2, 3, 64, 1, 28, 28\]"):
        summary(LeNet(), (3, 64, 1, 28, 28))
    with pytest.raises(ValueError, match="batch_dim"):
        summary(LeNet(), (1, 28, 28), batch_dim=1)
