"""MNIST and Fashion-MNIST with torchvision's interface, plus the bundled 10,000-digit sample.

Files are looked for under root/<ClassName>/raw/ (torchvision's layout) and then directly in
root, each gzipped or not. `download=True` fetches the four gzipped files from the public
mirrors, checks their md5 and writes each one atomically.
"""
import hashlib
import os
import time

import numpy as np

from ...backend import move
from ..dataset import Dataset, _take, _wrap
from ..transforms import Normalize, ToTensor, apply_batch, is_batchable
from .idx import read_idx

_SAMPLE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_sample")
SAMPLE_FILES = ("digits-images-idx3-ubyte.gz", "digits-labels-idx1-ubyte.gz")
SAMPLE_TRAIN = 8000  # the first 8,000 digits train, the last 2,000 evaluate (README.md)


class MNIST(Dataset):
    """The MNIST digits (torchvision.datasets.MNIST).

    `root` holds the IDX files (see the module docstring); `sample=True` reads the 10,000
    digits bundled with dynet instead (no root needed): the first 8,000 when `train`, the
    last 2,000 otherwise.

    `.data` is a uint8 N x 28 x 28 tensor and `.targets` an int64 tensor of N labels.
    `ds[i]` returns `(image, label)` with `label` an int; without a transform the image is
    the uint8 28 x 28 tensor, dynet's stand-in for the PIL image torchvision returns, so
    `transforms.ToTensor()` turns it into a float32 1 x 28 x 28 tensor in [0, 1] as usual.
    For the fastest training loop use `as_tensors()` with a TensorDataset.
    """

    # md5 of the gzipped files, copied from torchvision (pytorch/vision,
    # torchvision/datasets/mnist.py); md5 because those are the published, reviewed values
    # and this machine cannot download the files to compute sha256 itself.
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    # The S3 mirror first: yann.lecun.com often answers 403 to scripts nowadays.
    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]
    mean = (0.1307,)  # of the 60k training images scaled to [0, 1], the usual constants
    std = (0.3081,)
    has_sample = True

    download_timeout = 30.0  # seconds per connection attempt (urlopen's timeout)
    download_attempts = 2  # per mirror
    retry_delay = 1.0  # seconds, times the attempt number

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False, *, sample=False):
        self.root = None if root is None else os.path.expanduser(os.fspath(root))
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        self.sample = bool(sample)
        if self.sample:
            if not self.has_sample:
                raise ValueError(f"{type(self).__name__} has no bundled sample; only MNIST "
                                 "digits ship with dynet")
            images, labels = _load_sample(train)
        else:
            if self.root is None:
                raise ValueError(f"{type(self).__name__} needs a root directory holding the "
                                 "IDX files (or sample=True for the bundled 10,000 digits)")
            if download:
                self.download()
            image_path, label_path = self._find_split_files()
            images, labels = read_idx(image_path), read_idx(label_path)
            _check_pair(images, labels, image_path, label_path, len(self.classes))
        self.data = _wrap(images)
        self.targets = _wrap(labels.astype(np.int64))

    # -- files ------------------------------------------------------------------------

    @property
    def raw_folder(self):
        return os.path.join(self.root, type(self).__name__, "raw")

    def _candidates(self, name):
        """Where a file may live, in order of preference."""
        paths = []
        for folder in (self.raw_folder, self.root):
            paths += [os.path.join(folder, name), os.path.join(folder, name + ".gz")]
        return paths

    def _find(self, name):
        return next((p for p in self._candidates(name) if os.path.isfile(p)), None)

    def _find_split_files(self):
        prefix = "train" if self.train else "t10k"
        names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
        found = [self._find(n) for n in names]
        if None in found:
            missing = [n for n, p in zip(names, found) if p is None]
            searched = "\n  ".join(p for n in missing for p in self._candidates(n))
            raise RuntimeError(f"Dataset not found: {type(self).__name__} is missing "
                               f"{', '.join(missing)}. Searched:\n  {searched}\n"
                               "You can use download=True to download it")
        return found

    def _check_exists(self):
        return all(self._find(name[:-len(".gz")]) for name, _ in self.resources)

    def download(self):
        """Fetches the missing files into raw_folder; a no-op when all are present."""
        if self._check_exists():
            return
        created = _makedirs(self.raw_folder)
        try:
            for name, md5 in self.resources:
                if self._find(name[:-len(".gz")]) is None:
                    self._download_one(name, md5)
        except BaseException:
            for folder in reversed(created):  # leave no empty folders behind either
                try:
                    os.rmdir(folder)
                except OSError:
                    break
            raise

    def _download_one(self, name, md5):
        # imported here: http.client pulls in ssl and email, ~20 ms on every `import dynet.data`
        import http.client
        import urllib.error

        dest = os.path.join(self.raw_folder, name)
        tried = []
        for mirror in self.mirrors:
            url = mirror + name
            for attempt in range(1, self.download_attempts + 1):
                try:
                    _fetch(url, dest, md5, self.download_timeout)
                    return
                except _ChecksumError as exc:
                    tried.append(f"{url}: {exc}")
                except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                    tried.append(f"{url} (attempt {attempt}): {exc}")
                    if attempt < self.download_attempts:
                        time.sleep(self.retry_delay * attempt)
                    continue
                break  # a wrong checksum will not fix itself on retry; next mirror
        files = ", ".join(n for n, _ in self.resources)
        raise RuntimeError(
            f"Could not download {type(self).__name__} file {name}. Tried:\n  "
            + "\n  ".join(tried)
            + f"\nTo install the data by hand, download {files} from one of the URLs above "
            f"and put them, gzipped or not, in {self.raw_folder} (or directly in {self.root}).")

    # -- samples ----------------------------------------------------------------------

    def __len__(self):
        return self.data.shape[0]

    def __getitem__(self, index):
        img = _wrap(self.data._data[index])
        target = int(self.targets._data[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def _fetch_batch(self, indices):
        """The DataLoader's fast path: one slice per batch when the transform allows it."""
        if self.target_transform is not None:
            return NotImplemented
        if self.transform is not None and not is_batchable(self.transform):
            return NotImplemented
        images = _take(self.data, indices)
        if self.transform is not None:
            images = apply_batch(self.transform, images)
            if isinstance(images, np.ndarray):
                images = _wrap(images)
        return [images, _take(self.targets, indices)]

    def as_tensors(self, normalize=True, device=None):
        """All samples at once: (float32 N x 1 x 28 x 28 images in [0, 1], normalized with
        the class's mean/std when `normalize`, int64 labels), ready for a TensorDataset.

        Ignores `transform`/`target_transform`; `device` puts both tensors there.
        """
        images = self.data._data
        labels = self.targets._data
        if device is not None:
            images, labels = move(images, device), move(labels, device)
        x = ToTensor().apply_batch(images)
        if normalize:
            x = Normalize(self.mean, self.std, inplace=True)(x)
        return x, _wrap(labels.copy())

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __repr__(self):
        where = "bundled sample" if self.sample else self.root
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Root location: {where}", f"    Split: {'Train' if self.train else 'Test'}"]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"    Target transform: {self.target_transform!r}")
        return "\n".join(lines)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (torchvision.datasets.FashionMNIST), same format as MNIST."""

    resources = [  # md5 from torchvision, as for MNIST
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
    mean = (0.2860,)  # of the 60k Fashion-MNIST training images
    std = (0.3530,)
    has_sample = False


class MNISTSample(MNIST):
    """The 10,000 real MNIST digits bundled with dynet: 8,000 to train, 2,000 to evaluate."""

    def __init__(self, train=True, transform=None, target_transform=None):
        super().__init__(None, train=train, transform=transform,
                         target_transform=target_transform, sample=True)


def _load_sample(train):
    image_path, label_path = (os.path.join(_SAMPLE_DIR, f) for f in SAMPLE_FILES)
    images, labels = read_idx(image_path), read_idx(label_path)
    _check_pair(images, labels, image_path, label_path, 10)
    part = slice(None, SAMPLE_TRAIN) if train else slice(SAMPLE_TRAIN, None)
    return images[part].copy(), labels[part].copy()  # copies: don't pin the 10k arrays


def _check_pair(images, labels, image_path, label_path, num_classes):
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"{image_path}: expected uint8 images of shape N x H x W, got "
                         f"{images.dtype} of shape {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(f"{label_path}: expected uint8 labels of shape (N,), got "
                         f"{labels.dtype} of shape {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{image_path} holds {len(images)} images but {label_path} holds "
                         f"{len(labels)} labels")
    if len(labels) and int(labels.max()) >= num_classes:
        raise ValueError(f"{label_path}: label {int(labels.max())} is out of range for "
                         f"{num_classes} classes")


class _ChecksumError(Exception):
    pass


def _fetch(url, dest, md5, timeout):
    """Streams `url` into a temp file beside `dest`, checks its md5, then renames it into
    place, so `dest` is either absent or complete and verified."""
    import tempfile
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "dynet"})
    folder = os.path.dirname(dest)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(dest)}.", suffix=".part",
                                   dir=folder)
        try:
            digest = hashlib.md5(usedforsecurity=False)
            size = 0
            with os.fdopen(fd, "wb") as f:
                while True:
                    chunk = response.read(1 << 20)
                    if not chunk:
                        break
                    f.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
            if digest.hexdigest() != md5:
                raise _ChecksumError(f"md5 mismatch ({size} bytes): expected {md5}, "
                                     f"got {digest.hexdigest()}")
            os.replace(tmp, dest)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise


def _makedirs(path):
    """os.makedirs that returns the folders it created, outermost first."""
    created = []
    path = os.path.abspath(path)
    while not os.path.isdir(path):
        created.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    created.reverse()
    for folder in created:
        os.makedirs(folder, exist_ok=True)
    return created
