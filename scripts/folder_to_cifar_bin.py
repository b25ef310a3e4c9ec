"""Converts an image folder root/{train,test}/<class>/*.jpg of 32x32 images to the CIFAR-10 binary
format (data_batch_1..5.bin, test_batch.bin), taking `--per-class` train and `--test-per-class` test
images of each class (per-class = 5 x test-per-class: six files of equal size). Used to carry a small real-data subset to a GPU machine.

  python3 scripts/folder_to_cifar_bin.py cifar10-jpeg OUT_DIR --per-class 500 --test-per-class 100
"""
import argparse
import os

import numpy as np
from PIL import Image


def records(root, split, per_class):
    classes = sorted(os.listdir(os.path.join(root, "train")))
    out = []
    for label, cls in enumerate(classes):
        files = sorted(os.listdir(os.path.join(root, split, cls)))[:per_class]
        for f in files:
            img = np.asarray(Image.open(os.path.join(root, split, cls, f)).convert("RGB"), dtype=np.uint8)
            assert img.shape == (32, 32, 3), f
            out.append(bytes([label]) + img.transpose(2, 0, 1).tobytes())  # R, G, B planes
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("out")
    ap.add_argument("--per-class", type=int, default=500)
    ap.add_argument("--test-per-class", type=int, default=100)
    a = ap.parse_args()
    # the six CIFAR-10 files hold the same number of records (data/cifar.cpp checks it)
    if a.per_class != 5 * a.test_per_class:
        ap.error("--per-class must be 5 x --test-per-class: the six CIFAR-10 files are of equal size")
    os.makedirs(a.out, exist_ok=True)
    train = records(a.root, "train", a.per_class)
    np.random.default_rng(0).shuffle(train)
    for k in range(5):
        with open(os.path.join(a.out, f"data_batch_{k + 1}.bin"), "wb") as f:
            f.write(b"".join(train[k::5]))
    with open(os.path.join(a.out, "test_batch.bin"), "wb") as f:
        f.write(b"".join(records(a.root, "test", a.test_per_class)))


if __name__ == "__main__":
    main()
