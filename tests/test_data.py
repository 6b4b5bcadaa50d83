"""dynet.data: IDX reading, the MNIST family, samplers, DataLoader and transforms."""
import collections
import gzip
import hashlib
import io
import os
import re
import urllib.error
import urllib.request

import numpy as np
import pytest

import dynet
from dynet.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset,
                        RandomSampler, SequentialSampler, Subset, TensorDataset,
                        default_collate, default_convert, random_split)
from dynet.data import transforms as T
from dynet.data.datasets import MNIST, FashionMNIST, MNISTSample, read_idx, write_idx
from dynet.data.datasets import mnist as mnist_mod

try:
    import torch
    import torch.utils.data as tud
except ImportError:  # pragma: no cover - torch is optional
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed")

SAMPLE_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]


def gen(seed):
    return dynet.Generator().manual_seed(seed)


def as_np(x):
    return np.asarray(x.numpy())


# ---------------------------------------------------------------- bundled sample


def test_bundled_sample_matches_readme_sha256():
    folder = mnist_mod._SAMPLE_DIR
    # the sample lives inside the package, never in ../shared
    assert os.path.commonpath([folder, os.path.dirname(dynet.__file__)]) == \
        os.path.dirname(dynet.__file__)
    with open(os.path.join(folder, "README.md"), encoding="utf-8") as f:
        pinned = dict(re.findall(r"- (\S+\.gz) `([0-9a-f]{64})`", f.read()))
    assert sorted(pinned) == sorted(mnist_mod.SAMPLE_FILES)
    for name, digest in pinned.items():
        with open(os.path.join(folder, name), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest, name
    assert os.path.isfile(os.path.join(folder, "LICENSE.cazala-mnist"))


def test_bundled_sample_contents():
    folder = mnist_mod._SAMPLE_DIR
    images = read_idx(os.path.join(folder, "digits-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(folder, "digits-labels-idx1-ubyte.gz"))
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert np.bincount(labels).tolist() == SAMPLE_COUNTS
    assert images.max() == 255 and images.min() == 0

    train, test = MNISTSample(train=True), MNISTSample(train=False)
    assert len(train) == 8000 and len(test) == 2000
    assert train.data.shape == (8000, 28, 28) and train.data.dtype == dynet.uint8
    assert train.targets.dtype == dynet.int64
    np.testing.assert_array_equal(as_np(train.data), images[:8000])
    np.testing.assert_array_equal(as_np(test.data), images[8000:])
    counts = np.bincount(as_np(train.targets), minlength=10) + \
        np.bincount(as_np(test.targets), minlength=10)
    assert counts.tolist() == SAMPLE_COUNTS

    via_mnist = MNIST(sample=True, train=False)
    np.testing.assert_array_equal(as_np(via_mnist.targets), labels[8000:])
    img, label = test[5]
    assert isinstance(img, dynet.Tensor) and img.shape == (28, 28) and img.dtype == dynet.uint8
    assert type(label) is int and label == labels[8005]


def test_sample_only_for_mnist_and_root_required():
    with pytest.raises(ValueError, match="no bundled sample"):
        FashionMNIST(sample=True)
    with pytest.raises(ValueError, match="root"):
        MNIST()


def test_as_tensors_normalizes():
    ds = MNISTSample(train=False)
    x, y = ds.as_tensors(normalize=False)
    assert x.shape == (2000, 1, 28, 28) and x.dtype == dynet.float32 and y.dtype == dynet.int64
    raw = as_np(ds.data)
    np.testing.assert_array_equal(as_np(x)[:, 0], raw.astype(np.float32) / np.float32(255))
    xn, yn = ds.as_tensors()
    np.testing.assert_allclose(as_np(xn), (as_np(x) - 0.1307) / 0.3081, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(as_np(yn), as_np(ds.targets))
    assert not np.shares_memory(as_np(yn), as_np(ds.targets))  # no aliasing of the dataset


# ---------------------------------------------------------------- IDX files

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", IDX_DTYPES)
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_idx_round_trip(tmp_path, dtype, name):
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    path = write_idx(tmp_path / name, arr)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, arr)
    back[0, 0, 0] = 1  # writable, not a view of the file's bytes
    with open(path, "rb") as f:
        head = f.read(4)
    assert (head[:2] == b"\x1f\x8b") == name.endswith(".gz")


def test_idx_detects_gzip_by_content_not_name(tmp_path):
    arr = np.arange(12, dtype=np.int32).reshape(3, 4)
    zipped = write_idx(tmp_path / "no-extension", arr, compress=True)
    plain = write_idx(tmp_path / "lying.gz", arr, compress=False)
    np.testing.assert_array_equal(read_idx(zipped), arr)
    np.testing.assert_array_equal(read_idx(plain), arr)


def test_idx_header_is_big_endian(tmp_path):
    path = write_idx(tmp_path / "x.idx", np.array([1, 258], dtype=np.int16))
    with open(path, "rb") as f:
        assert f.read() == bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0, 1, 1, 2])


def _valid_idx_bytes():
    return bytes([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + bytes(range(6))


CORRUPT = {
    "empty": (b"", "shorter than"),
    "wrong magic": (b"\x01\x00" + _valid_idx_bytes()[2:], "magic"),
    "unknown dtype": (b"\x00\x00\x0A\x02" + _valid_idx_bytes()[4:], "dtype code 0x0A"),
    "zero dims": (b"\x00\x00\x08\x00", "0 dimensions"),
    "truncated header": (_valid_idx_bytes()[:9], "truncated IDX header"),
    "truncated payload": (_valid_idx_bytes()[:-1], "truncated IDX payload"),
    "trailing garbage": (_valid_idx_bytes() + b"xyz", "3 bytes of trailing garbage"),
    "text file": (b"label,pixel0\n5,0\n", "not an IDX file"),
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(20), "not an IDX file"),
    "truncated gzip": (gzip.compress(_valid_idx_bytes() * 50)[:-12], "gzip"),
    "gzip of text": (gzip.compress(b"hello world"), "not an IDX file"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_idx_rejects_bad_files_naming_them(tmp_path, case):
    blob, what = CORRUPT[case]
    path = tmp_path / f"bad-{case.replace(' ', '_')}-idx1-ubyte"
    path.write_bytes(blob)
    with pytest.raises(ValueError) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert what in str(info.value)


def test_idx_rejects_corrupt_gzip_crc(tmp_path):
    blob = bytearray(gzip.compress(_valid_idx_bytes()))
    blob[-8] ^= 0xFF  # the CRC32 in the gzip trailer
    path = tmp_path / "crc.gz"
    path.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match=re.escape(str(path))):
        read_idx(path)


def test_idx_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


def test_write_idx_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(ValueError, match="int64"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))


# ---------------------------------------------------------------- MNIST from files


def _fixture_split(n, seed):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n, 28, 28)).astype(np.uint8),
            rng.integers(0, 10, n).astype(np.uint8))


def _write_mnist(folder, gz, n_train=7, n_test=5):
    os.makedirs(folder, exist_ok=True)
    ext = ".gz" if gz else ""
    out = {}
    for prefix, n, seed in (("train", n_train, 1), ("t10k", n_test, 2)):
        images, labels = _fixture_split(n, seed)
        write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte{ext}"), images)
        write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte{ext}"), labels)
        out[prefix] = (images, labels)
    return out


@pytest.mark.parametrize("layout", ["raw-folder-gz", "raw-folder-plain", "root-plain"])
@pytest.mark.parametrize("cls", [MNIST, FashionMNIST])
def test_mnist_reads_files(tmp_path, layout, cls):
    folder = tmp_path if layout == "root-plain" else tmp_path / cls.__name__ / "raw"
    arrays = _write_mnist(folder, gz=layout.endswith("gz"))
    for train, prefix in ((True, "train"), (False, "t10k")):
        ds = cls(str(tmp_path), train=train)
        images, labels = arrays[prefix]
        assert len(ds) == len(labels)
        np.testing.assert_array_equal(as_np(ds.data), images)
        np.testing.assert_array_equal(as_np(ds.targets), labels.astype(np.int64))
        img, label = ds[len(ds) - 1]
        np.testing.assert_array_equal(as_np(img), images[-1])
        assert label == labels[-1]


def test_mnist_missing_files(tmp_path):
    with pytest.raises(RuntimeError, match="download=True") as info:
        MNIST(tmp_path, train=False)
    assert "t10k-images-idx3-ubyte" in str(info.value)
    assert os.path.join(str(tmp_path), "MNIST", "raw") in str(info.value)


def test_mnist_mismatched_files(tmp_path):
    folder = tmp_path / "MNIST" / "raw"
    _write_mnist(folder, gz=False)
    write_idx(folder / "train-labels-idx1-ubyte", np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="7 images but .*3 labels"):
        MNIST(tmp_path)
    write_idx(folder / "train-labels-idx1-ubyte", np.zeros(7, np.int32))
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.*int32"):
        MNIST(tmp_path)


def test_mnist_transforms_and_repr(tmp_path):
    _write_mnist(tmp_path / "MNIST" / "raw", gz=True)
    tf = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.25,))])
    ds = MNIST(tmp_path, transform=tf, target_transform=lambda t: t + 100)
    img, label = ds[0]
    assert img.shape == (1, 28, 28) and img.dtype == dynet.float32
    expected = (as_np(ds.data)[0].astype(np.float32) / 255 - 0.5) / 0.25
    np.testing.assert_allclose(as_np(img)[0], expected, rtol=1e-6, atol=1e-6)
    assert label == int(as_np(ds.targets)[0]) + 100
    text = repr(ds)
    assert "Number of datapoints: 7" in text and "Split: Train" in text and "ToTensor()" in text


# ---------------------------------------------------------------- downloads (offline)


def _no_files_left(root):
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files]


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(MNIST, "retry_delay", 0.0)


def test_download_failure_lists_urls_and_leaves_nothing(tmp_path, monkeypatch, fast_retries):
    calls = []

    def offline(request, timeout=None):
        calls.append((request.full_url, timeout))
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    root = tmp_path / "data"
    with pytest.raises(RuntimeError) as info:
        MNIST(root, download=True)
    msg = str(info.value)
    first = MNIST.resources[0][0]
    for mirror in MNIST.mirrors:
        assert mirror + first in msg
    assert "network is unreachable" in msg and "by hand" in msg
    assert os.path.join(str(root), "MNIST", "raw") in msg
    assert len(calls) == len(MNIST.mirrors) * MNIST.download_attempts
    assert all(t == MNIST.download_timeout for _, t in calls)
    assert not root.exists()  # not even the empty folders stay behind


def test_download_checksum_error_leaves_nothing(tmp_path, monkeypatch, fast_retries):
    monkeypatch.setattr(urllib.request, "urlopen",
                        lambda request, timeout=None: io.BytesIO(b"\x1f\x8b corrupted"))
    (tmp_path / "MNIST").mkdir()  # a folder that existed before must survive
    with pytest.raises(RuntimeError, match="md5 mismatch"):
        FashionMNIST(tmp_path, download=True)
    with pytest.raises(RuntimeError, match="md5 mismatch") as info:
        MNIST(tmp_path, download=True)
    assert MNIST.mirrors[1] + MNIST.resources[0][0] in str(info.value)
    assert _no_files_left(tmp_path) == []
    assert (tmp_path / "MNIST").is_dir() and not (tmp_path / "MNIST" / "raw").exists()


def test_download_interrupted_midway_leaves_no_partial_file(tmp_path, monkeypatch,
                                                            fast_retries):
    class Dropping(io.BytesIO):
        def read(self, n=-1):
            if self.tell():
                raise ConnectionResetError("connection reset by peer")
            return super().read(4)

    monkeypatch.setattr(urllib.request, "urlopen",
                        lambda request, timeout=None: Dropping(b"0123456789"))
    with pytest.raises(RuntimeError, match="connection reset"):
        MNIST(tmp_path, download=True)
    assert _no_files_left(tmp_path) == []


def test_download_success_writes_verified_files(tmp_path, monkeypatch, fast_retries):
    source = tmp_path / "mirror"
    arrays = _write_mnist(source, gz=True)
    blobs = {p.name: p.read_bytes() for p in source.iterdir()}

    class Mirrored(MNIST):
        resources = [(name, hashlib.md5(blob).hexdigest()) for name, blob in blobs.items()]
        mirrors = ["https://broken.invalid/", "https://ok.invalid/"]

    def fake(request, timeout=None):
        if request.full_url.startswith("https://broken.invalid/"):
            raise urllib.error.HTTPError(request.full_url, 403, "Forbidden", {}, None)
        return io.BytesIO(blobs[request.full_url.rsplit("/", 1)[1]])

    monkeypatch.setattr(urllib.request, "urlopen", fake)
    root = tmp_path / "root"
    ds = Mirrored(root, train=False, download=True)
    np.testing.assert_array_equal(as_np(ds.data), arrays["t10k"][0])
    written = sorted(os.listdir(root / "Mirrored" / "raw"))
    assert written == sorted(blobs)  # no temp files beside them
    monkeypatch.setattr(urllib.request, "urlopen", None)  # present files: no network use
    assert len(Mirrored(root, train=True, download=True)) == 7


# ---------------------------------------------------------------- datasets


def test_tensor_dataset():
    x = dynet.from_numpy(np.arange(12, dtype=np.float32).reshape(6, 2))
    y = dynet.from_numpy(np.arange(6, dtype=np.int64))
    ds = TensorDataset(x, y)
    assert len(ds) == 6
    xi, yi = ds[4]
    np.testing.assert_array_equal(as_np(xi), [8, 9])
    assert yi.item() == 4
    with pytest.raises(ValueError, match=r"\[6, 5\]"):
        TensorDataset(x, dynet.from_numpy(np.zeros(5, np.int64)))


def test_subset_concat_and_add():
    ds = TensorDataset(dynet.from_numpy(np.arange(10, dtype=np.int64)))
    sub = Subset(ds, [7, 2, 5])
    assert len(sub) == 3 and sub[1][0].item() == 2 and sub[-1][0].item() == 5
    cat = sub + Subset(ds, [0, 1])
    assert isinstance(cat, ConcatDataset) and len(cat) == 5
    assert [cat[i][0].item() for i in range(5)] == [7, 2, 5, 0, 1]
    assert cat[-1][0].item() == 1
    with pytest.raises(IndexError):
        cat[5]
    with pytest.raises(ValueError):
        cat[-6]


def test_random_split_counts_and_reproducibility():
    ds = list(range(10))
    a = random_split(ds, [3, 7], generator=gen(1))
    b = random_split(ds, [3, 7], generator=gen(1))
    c = random_split(ds, [3, 7], generator=gen(2))
    assert [len(s) for s in a] == [3, 7]
    assert [s.indices for s in a] == [s.indices for s in b]
    assert [s.indices for s in a] != [s.indices for s in c]
    assert sorted(a[0].indices + a[1].indices) == ds
    fr = random_split(ds, [0.25, 0.25, 0.5], generator=gen(0))
    with pytest.warns(UserWarning, match="index 1 is 0"):
        random_split(ds, [0.95, 0.05])
    assert [len(s) for s in fr] == [3, 2, 5]  # floors 2, 2, 5; remainder to the first
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(ds, [3, 3])
    with pytest.raises(ValueError, match="Fraction at index 1"):
        random_split(ds, [0.5, -0.5, 1.0])
    dynet.manual_seed(3)
    d1 = random_split(ds, [5, 5])[0].indices
    dynet.manual_seed(3)
    assert random_split(ds, [5, 5])[0].indices == d1


@needs_torch
@pytest.mark.filterwarnings("ignore:Length of split at index")
@pytest.mark.parametrize("n,fracs", [(10, [0.3, 0.3, 0.4]), (7, [0.5, 0.5]),
                                     (101, [0.1] * 10), (5, [0.9, 0.1])])
def test_random_split_fraction_lengths_match_torch(n, fracs):
    ours = [len(s) for s in random_split(range(n), fracs, generator=gen(0))]
    theirs = [len(s) for s in tud.random_split(range(n), fracs)]
    assert ours == theirs


# ---------------------------------------------------------------- samplers and DataLoader


def test_batch_sampler_and_sequential():
    assert list(BatchSampler(SequentialSampler(range(7)), 3, False)) == \
        [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(range(7), 3, True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, False)) == 3
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(range(7), 0, False)
    with pytest.raises(ValueError, match="drop_last"):
        BatchSampler(range(7), 2, 1)


def test_random_sampler_options():
    s = RandomSampler(range(5), num_samples=12, generator=gen(0))
    got = list(s)
    assert len(got) == 12 and sorted(got[:10]) == sorted(list(range(5)) * 2)
    r = list(RandomSampler(range(5), replacement=True, num_samples=50, generator=gen(0)))
    assert len(r) == 50 and set(r) <= set(range(5))
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler([])
    with pytest.raises(TypeError, match="replacement"):
        RandomSampler(range(3), replacement=1)


def _xy(n=10):
    x = dynet.from_numpy(np.arange(n * 3, dtype=np.float32).reshape(n, 3))
    y = dynet.from_numpy(np.arange(n, dtype=np.int64))
    return TensorDataset(x, y)


@pytest.mark.parametrize("n,bs,drop,expected", [(10, 3, False, 4), (10, 3, True, 3),
                                                (9, 3, True, 3), (2, 5, True, 0)])
def test_loader_len(n, bs, drop, expected):
    loader = DataLoader(_xy(n), batch_size=bs, drop_last=drop)
    assert len(loader) == expected == len(list(loader))
    if torch is not None:
        assert len(tud.DataLoader(range(n), batch_size=bs, drop_last=drop)) == expected


def test_loader_sequential_batches():
    batches = list(DataLoader(_xy(10), batch_size=4))
    assert [b[1].shape[0] for b in batches] == [4, 4, 2]
    x, y = batches[2]
    assert isinstance(batches[0], list) and isinstance(x, dynet.Tensor)
    assert x.dtype == dynet.float32 and y.dtype == dynet.int64
    np.testing.assert_array_equal(as_np(y), [8, 9])
    np.testing.assert_array_equal(as_np(x), np.arange(24, 30).reshape(2, 3))


def _epoch_labels(loader):
    return np.concatenate([as_np(y) for _, y in loader]).tolist()


def test_loader_shuffle_reproducible_and_new_each_epoch():
    def two_epochs(seed):
        loader = DataLoader(_xy(50), batch_size=8, shuffle=True, generator=gen(seed))
        return _epoch_labels(loader), _epoch_labels(loader)

    e1, e2 = two_epochs(0)
    assert sorted(e1) == sorted(e2) == list(range(50))  # every sample exactly once
    assert e1 != e2 and e1 != list(range(50))
    assert two_epochs(0) == (e1, e2)
    assert two_epochs(1) != (e1, e2)
    dynet.manual_seed(5)  # without a generator: the global one decides
    g1 = _epoch_labels(DataLoader(_xy(50), batch_size=8, shuffle=True))
    dynet.manual_seed(5)
    assert _epoch_labels(DataLoader(_xy(50), batch_size=8, shuffle=True)) == g1


def test_loader_shuffle_drop_last_covers_disjoint_samples():
    loader = DataLoader(_xy(23), batch_size=5, shuffle=True, drop_last=True, generator=gen(4))
    labels = _epoch_labels(loader)
    assert len(labels) == 20 and len(set(labels)) == 20


def test_loader_argument_errors():
    ds = _xy(6)
    sampler = SequentialSampler(ds)
    bsamp = BatchSampler(sampler, 2, False)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=sampler, shuffle=True)
    for kwargs in ({"batch_size": 2}, {"shuffle": True}, {"sampler": sampler},
                   {"drop_last": True}):
        with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
            DataLoader(ds, batch_sampler=bsamp, **kwargs)
    with pytest.raises(ValueError, match="batch_size=None"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ds, batch_size=0)
    loader = DataLoader(ds, num_workers=2, pin_memory=True)  # accepted, single-process
    assert len(list(loader)) == 6
    with pytest.raises(ValueError, match="should not be set after"):
        loader.batch_size = 3


def test_loader_custom_samplers_and_no_batching():
    ds = _xy(6)
    loader = DataLoader(ds, batch_sampler=[[5, 0], [3]])
    assert [as_np(y).tolist() for _, y in loader] == [[5, 0], [3]]
    assert len(loader) == 2
    loader = DataLoader(ds, sampler=[4, 1, 2], batch_size=2)
    assert [as_np(y).tolist() for _, y in loader] == [[4, 1], [2]]
    samples = list(DataLoader(ds, batch_size=None))  # no auto-batching: samples as they are
    assert len(samples) == 6 and samples[2][1].item() == 2 and samples[2][0].shape == (3,)


def test_loader_iterable_dataset():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    loader = DataLoader(Stream(), batch_size=3)
    assert [as_np(b).tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(loader) == 3
    with pytest.raises(ValueError, match="IterableDataset"):
        DataLoader(Stream(), shuffle=True)


class _Counting(Dataset):
    """A plain map-style view of a TensorDataset: the per-sample path."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = 0

    def __getitem__(self, i):
        self.calls += 1
        return self.inner[i]

    def __len__(self):
        return len(self.inner)


def _same_batches(a, b):
    a, b = list(a), list(b)
    assert len(a) == len(b)
    for ba, bb in zip(a, b, strict=True):
        assert type(ba) is type(bb) and len(ba) == len(bb)
        for ta, tb in zip(ba, bb, strict=True):
            assert ta.dtype == tb.dtype and ta.shape == tb.shape
            np.testing.assert_array_equal(as_np(ta), as_np(tb))


@pytest.mark.parametrize("shuffle,drop", [(False, False), (True, False), (True, True)])
def test_fast_path_matches_per_sample_path(shuffle, drop):
    def loader(ds):
        return DataLoader(ds, batch_size=8, shuffle=shuffle, drop_last=drop, generator=gen(9))

    fast_ds = _xy(37)
    slow_ds = _Counting(fast_ds)
    _same_batches(loader(fast_ds), loader(slow_ds))
    assert slow_ds.calls == (32 if drop else 37)

    class Spy(TensorDataset):
        def __getitem__(self, i):
            raise AssertionError("the fast path must not index samples one by one")

    spied = Spy(*fast_ds.tensors)
    _same_batches(loader(spied), loader(slow_ds))
    # random_split's Subsets take the fast path too
    part = random_split(spied, [30, 7], generator=gen(0))[0]
    expect = [as_np(fast_ds.tensors[1])[part.indices[i:i + 8]] for i in range(0, 30, 8)]
    got = [as_np(y) for _, y in DataLoader(part, batch_size=8)]
    assert len(got) == 4 and all(np.array_equal(g, e) for g, e in zip(got, expect, strict=True))


def test_custom_collate_fn_sees_samples():
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return default_collate(samples)

    _same_batches(DataLoader(_xy(10), batch_size=4, collate_fn=collate),
                  DataLoader(_xy(10), batch_size=4))
    assert seen == [4, 4, 2]


def test_mnist_loader_fast_path_matches_slow_path():
    tf = T.Compose([T.ToTensor(), T.Normalize(MNIST.mean, MNIST.std)])
    ds = MNISTSample(train=False, transform=tf)
    fast = DataLoader(ds, batch_size=100, shuffle=True, generator=gen(3))
    slow = DataLoader(ds, batch_size=100, shuffle=True, generator=gen(3),
                      collate_fn=lambda b: default_collate(b))
    def no_per_sample(self, index):
        raise AssertionError("MNIST with a batchable transform must take the fast path")

    getitem = MNISTSample.__getitem__
    MNISTSample.__getitem__ = no_per_sample
    try:
        batches = list(fast)
    finally:
        MNISTSample.__getitem__ = getitem
    _same_batches(batches, slow)
    assert batches[0][0].shape == (100, 1, 28, 28) and batches[0][1].dtype == dynet.int64
    x, y = ds.as_tensors()
    tensors = DataLoader(TensorDataset(x, y), batch_size=100, shuffle=True, generator=gen(3))
    for (a, la), (b, lb) in zip(batches, tensors, strict=True):
        np.testing.assert_allclose(as_np(a), as_np(b), rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(as_np(la), as_np(lb))
    # a per-sample-only transform falls back to __getitem__ and still batches
    lam = MNISTSample(train=False, transform=T.Lambda(lambda im: im))
    first = next(iter(DataLoader(lam, batch_size=4)))
    assert first[0].shape == (4, 28, 28) and first[0].dtype == dynet.uint8


# ---------------------------------------------------------------- collate


def test_default_collate_structures():
    Point = collections.namedtuple("Point", "x y")
    t = [dynet.from_numpy(np.full(2, i, np.float32)) for i in range(3)]
    out = default_collate([(t[i], i, float(i), {"a": np.int16(i), "s": "w"}, Point(i, [i]))
                           for i in range(3)])
    assert isinstance(out, list) and len(out) == 5
    np.testing.assert_array_equal(as_np(out[0]), [[0, 0], [1, 1], [2, 2]])
    assert out[1].dtype == dynet.int64 and as_np(out[1]).tolist() == [0, 1, 2]
    assert out[2].dtype == dynet.float64
    assert out[3]["a"].dtype == dynet.int16 and out[3]["s"] == ["w", "w", "w"]
    assert isinstance(out[4], Point) and as_np(out[4].x).tolist() == [0, 1, 2]
    assert isinstance(out[4].y, list) and as_np(out[4].y[0]).tolist() == [0, 1, 2]
    arrays = default_collate([np.ones((2, 2), np.float32), np.zeros((2, 2), np.float32)])
    assert arrays.shape == (2, 2, 2) and arrays.dtype == dynet.float32
    assert default_collate([True, False]).dtype == dynet.bool
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="default_collate"):
        default_collate([np.array(["a"]), np.array(["b"])])
    conv = default_convert((np.arange(3), 5, "s"))
    assert isinstance(conv[0], dynet.Tensor) and conv[1:] == [5, "s"]


@needs_torch
def test_default_collate_matches_torch():
    samples = [({"img": np.full((2, 2), i, np.uint8), "id": i}, [i * 0.5, i])
               for i in range(4)]
    ours, theirs = default_collate(samples), tud.default_collate(samples)

    def same(a, b):
        if isinstance(b, torch.Tensor):
            assert str(a.dtype).split(".")[1] == str(b.dtype).split(".")[1]
            np.testing.assert_array_equal(as_np(a), b.numpy())
        else:
            assert type(a) is type(b)
            items = a.items() if isinstance(a, dict) else enumerate(a)
            for k, v in items:
                same(v, b[k])

    same(ours, theirs)


# ---------------------------------------------------------------- transforms


def test_to_tensor():
    img = np.arange(256, dtype=np.uint8).reshape(16, 16)
    out = T.ToTensor()(img)
    assert out.shape == (1, 16, 16) and out.dtype == dynet.float32
    expected = img.astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(as_np(out)[0], expected)
    assert as_np(out).max() == 1.0
    if torch is not None:  # torchvision's ToTensor is .float().div(255)
        ref = torch.from_numpy(img).float().div(255).numpy()
        np.testing.assert_array_equal(as_np(out)[0], ref)
    hwc = np.random.default_rng(0).integers(0, 256, (4, 5, 3)).astype(np.uint8)
    chw = T.ToTensor()(hwc)
    assert chw.shape == (3, 4, 5)
    np.testing.assert_array_equal(as_np(chw)[2], hwc[:, :, 2] / np.float32(255))
    floats = np.full((2, 3), 7.0, np.float64)  # not uint8: moved to CHW, not rescaled
    f = T.ToTensor()(floats)
    assert f.dtype == dynet.float64 and as_np(f).max() == 7.0
    from_tensor = T.ToTensor()(dynet.from_numpy(img))
    np.testing.assert_array_equal(as_np(from_tensor), as_np(out))
    with pytest.raises(ValueError, match="2/3 dimensional"):
        T.ToTensor()(np.zeros(4, np.uint8))


def test_transforms_batched_equal_per_sample():
    rng = np.random.default_rng(1)
    batch = rng.integers(0, 256, (5, 6, 7)).astype(np.uint8)
    tf = T.Compose([T.ToTensor(), T.Normalize((0.2,), (0.7,)),
                    T.Lambda(lambda x: x * 2, batched=True)])
    assert tf.batchable
    stacked = np.stack([as_np(tf(batch[i])) for i in range(5)])
    np.testing.assert_allclose(as_np(tf.apply_batch(batch)), stacked, rtol=1e-6)
    rgb = rng.integers(0, 256, (2, 6, 7, 3)).astype(np.uint8)
    np.testing.assert_array_equal(as_np(T.ToTensor().apply_batch(rgb))[1],
                                  as_np(T.ToTensor()(rgb[1])))
    lam = T.Compose([T.ToTensor(), T.Lambda(lambda x: x[:, :3])])
    assert not lam.batchable
    assert T.apply_batch(lam, batch).shape == (5, 1, 3, 7)


def test_normalize():
    x = dynet.from_numpy(np.random.default_rng(2).random((2, 3, 4, 4), dtype=np.float32))
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    out = T.Normalize(mean, std)(x)
    ref = (as_np(x) - np.float32(mean).reshape(3, 1, 1)) / np.float32(std).reshape(3, 1, 1)
    np.testing.assert_allclose(as_np(out), ref, rtol=1e-6)
    assert out.dtype == dynet.float32
    if torch is not None:
        t = torch.from_numpy(as_np(x).copy())
        tm, ts = torch.tensor(mean).view(-1, 1, 1), torch.tensor(std).view(-1, 1, 1)
        np.testing.assert_array_equal(as_np(out), t.sub(tm).div(ts).numpy())
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize((0.0,), (0.0,))(x)
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize((0.0,), (1.0,))(dynet.from_numpy(np.zeros((1, 2, 2), np.uint8)))
    with pytest.raises(ValueError, match=r"\(\.\.\., C, H, W\)"):
        T.Normalize((0.0,), (1.0,))(dynet.from_numpy(np.zeros((2, 2), np.float32)))


def test_compose_lambda_repr():
    tf = T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
    assert repr(tf) == ("Compose(\n    ToTensor()\n"
                        "    Normalize(mean=(0.1307,), std=(0.3081,))\n)")
    assert T.Lambda(lambda v: v + 1)(1) == 2
    with pytest.raises(TypeError, match="callable"):
        T.Lambda(3)


# ---------------------------------------------------------------- devices


def test_fast_path_on_device(device):
    ds = _xy(21)
    on_dev = TensorDataset(*(t.to(device) for t in ds.tensors))
    batches = list(DataLoader(on_dev, batch_size=4, shuffle=True, generator=gen(2)))
    for (x, y), (cx, cy) in zip(batches, DataLoader(ds, batch_size=4, shuffle=True,
                                                    generator=gen(2)), strict=True):
        assert x.device == dynet.device(device) and y.device == x.device
        np.testing.assert_array_equal(x.cpu().numpy(), as_np(cx))
        np.testing.assert_array_equal(y.cpu().numpy(), as_np(cy))
    x, y = MNISTSample(train=False).as_tensors(device=device)
    assert x.device == dynet.device(device) and y.device == x.device
    cx, cy = MNISTSample(train=False).as_tensors()
    np.testing.assert_allclose(x.cpu().numpy(), as_np(cx), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(y.cpu().numpy(), as_np(cy))


def test_weighted_random_sampler_follows_the_weights():
    from dynet.data import WeightedRandomSampler
    gen = dynet.Generator().manual_seed(0)
    sampler = WeightedRandomSampler([1.0, 0.0, 3.0], 4000, generator=gen)
    draws = np.array(list(sampler))
    assert len(sampler) == 4000 and len(draws) == 4000
    assert not (draws == 1).any()  # zero weight is never drawn
    assert abs((draws == 2).mean() - 0.75) < 0.03
    again = list(WeightedRandomSampler([1.0, 0.0, 3.0], 4000,
                                       generator=dynet.Generator().manual_seed(0)))
    assert again == draws.tolist()


def test_weighted_random_sampler_without_replacement_and_errors():
    from dynet.data import DataLoader, TensorDataset, WeightedRandomSampler
    s = WeightedRandomSampler(dynet.tensor([1.0, 2.0, 3.0, 4.0]), 4, replacement=False)
    assert sorted(s) == [0, 1, 2, 3]
    with pytest.raises(RuntimeError):
        WeightedRandomSampler([1.0, 0.0], 2, replacement=False)
    with pytest.raises(ValueError, match="num_samples"):
        WeightedRandomSampler([1.0], 0)
    with pytest.raises(ValueError, match="replacement"):
        WeightedRandomSampler([1.0], 1, replacement=1)
    # the DataLoader's batch fast path takes the same draws as iterating the sampler
    ds = TensorDataset(dynet.arange(4))
    loader = DataLoader(ds, batch_size=2, sampler=WeightedRandomSampler(
        [0.0, 1.0, 0.0, 1.0], 6, generator=dynet.Generator().manual_seed(1)))
    seen = [int(v) for (batch,) in loader for v in batch]
    assert len(seen) == 6 and set(seen) <= {1, 3}
