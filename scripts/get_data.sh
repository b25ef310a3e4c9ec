#!/usr/bin/env bash
# Downloads the official CIFAR-10 and CIFAR-100 binary versions into ./data (or $1), verifying
# their MD5 checksums, and unpacks them to data/cifar-10-batches-bin and data/cifar-100-binary.
set -euo pipefail
dest="${1:-data}"
mkdir -p "$dest"
cd "$dest"
fetch() {  # url md5
  local file
  file=$(basename "$1")
  [ -f "$file" ] || curl -fL --retry 3 -o "$file.part" "$1" && { [ -f "$file" ] || mv "$file.part" "$file"; }
  echo "$2  $file" | md5sum -c - || { echo "checksum mismatch for $file: delete it and retry" >&2; exit 1; }
  tar xzf "$file"
}
fetch https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz c32a1d4ab5d03f1284b67883e8d87530
fetch https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz 03b5dce01913d631647c71ecec9e9cb8
echo "CIFAR-10 in $dest/cifar-10-batches-bin, CIFAR-100 in $dest/cifar-100-binary"
