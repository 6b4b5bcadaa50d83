"""Whole networks train: PyTorch's MNIST example net and a PyDyNet-style sigmoid LeNet."""
import numpy as np
import pytest

import dynet
from dynet import nn, optim
from dynet.data.datasets import MNISTSample
import dynet.nn.functional as F


class PyTorchExampleNet(nn.Module):
    """The network of PyTorch's classic MNIST example, written as it is written there."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, 320)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, training=self.training)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def pydynet_style_lenet():
    """LeNet as PyDyNet's example builds it: sigmoid activations and average pooling."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))


@pytest.fixture(scope="module")
def digits():
    x, y = MNISTSample(train=True).as_tensors(normalize=True)
    return x[:64], y[:64]


def _train(model, opt, loss_fn, x, y, steps):
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_pytorch_example_net_trains(device, digits):
    dynet.manual_seed(0)
    model = PyTorchExampleNet().to(device)
    x, y = (t.to(device) for t in digits)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
    losses = _train(model, opt, F.nll_loss, x, y, steps=40)
    assert np.isfinite(losses).all()
    assert np.mean(losses[-5:]) < 0.75 * losses[0]
    model.eval()
    with dynet.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    assert accuracy > 0.6


def test_pydynet_style_sigmoid_lenet_trains(device, digits):
    dynet.manual_seed(0)
    model = pydynet_style_lenet().to(device)
    x, y = (t.to(device) for t in digits)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    losses = _train(model, opt, nn.CrossEntropyLoss(), x, y, steps=40)
    assert np.isfinite(losses).all()
    assert np.mean(losses[-5:]) < 0.75 * losses[0]


def test_pytorch_example_net_matches_torch_in_eval_mode(digits):
    torch = pytest.importorskip("torch")

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(1, 10, kernel_size=5)
            self.conv2 = torch.nn.Conv2d(10, 20, kernel_size=5)
            self.conv2_drop = torch.nn.Dropout2d()
            self.fc1 = torch.nn.Linear(320, 50)
            self.fc2 = torch.nn.Linear(50, 10)

        def forward(self, x):
            tf = torch.nn.functional
            x = tf.relu(tf.max_pool2d(self.conv1(x), 2))
            x = tf.relu(tf.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
            x = tf.relu(self.fc1(x.view(-1, 320)))
            return tf.log_softmax(self.fc2(x), dim=1)

    tnet = TorchNet().eval()
    net = PyTorchExampleNet().eval()
    net.load_state_dict({k: dynet.tensor(v.detach().numpy()) for k, v in
                         tnet.state_dict().items()})
    x, y = digits
    out = net(x)
    loss = F.nll_loss(out, y)
    loss.backward()
    tx = torch.from_numpy(x.numpy().copy())
    tout = tnet(tx)
    tloss = torch.nn.functional.nll_loss(tout, torch.from_numpy(y.numpy()))
    tloss.backward()
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-4,
                               atol=1e-5)
    for name, p in net.named_parameters():
        tp = dict(tnet.named_parameters())[name]
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-3, atol=1e-5,
                                   err_msg=name)
