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


def test_pytorch_mnist_example_loop_runs_unchanged():
    """The train/test loop of PyTorch's MNIST example, with `torch` bound to dynet."""
    import dynet as torch
    from dynet.data import DataLoader, Subset
    from dynet.data import transforms
    from dynet.data.datasets import MNIST
    from dynet.optim.lr_scheduler import StepLR

    use_cuda = torch.cuda.is_available()
    use_mps = torch.backends.mps.is_available()
    device = torch.device("cuda" if use_cuda else "mps" if use_mps else "cpu")
    torch.manual_seed(1)
    transform = transforms.Compose([transforms.ToTensor(),
                                    transforms.Normalize((0.1307,), (0.3081,))])
    train = Subset(MNIST(train=True, transform=transform, sample=True), range(640))
    test = Subset(MNIST(train=False, transform=transform, sample=True), range(500))
    train_loader = DataLoader(train, batch_size=64, shuffle=True)
    test_loader = DataLoader(test, batch_size=1000)
    model = PyTorchExampleNet().to(device)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)

    for epoch in range(1, 3):
        model.train()
        for data, target in train_loader:
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
        model.eval()
        test_loss, correct = 0, 0
        with torch.no_grad():
            for data, target in test_loader:
                data, target = data.to(device), target.to(device)
                output = model(data)
                test_loss += F.nll_loss(output, target, reduction="sum").item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()
        scheduler.step()
    assert scheduler.get_last_lr() == [pytest.approx(0.49)]
    # 20 steps of this dropout-heavy net: torch itself ends near loss 1.3 / 65% (chance: 2.3)
    assert test_loss / len(test_loader.dataset) < 2.0
    assert correct / len(test_loader.dataset) > 0.4
