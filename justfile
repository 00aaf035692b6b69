# Atelier recipes. Each one calls a script in scripts/, so nothing needs `just`.

# Run the bench on a 2 GiB virtual disk (root).
demo:
    sudo scripts/demo.sh

# The whole test suite: unit, device tier (loop devices), VM tier (root).
test:
    sudo scripts/test.sh

# The VM scenarios only (QEMU).
vm-test:
    sudo scripts/vm-test.sh

# Benchmarks side by side with the peer tools; results in docs/benchmarks.md.
bench:
    sudo scripts/bench-wipe.sh

# `atelier inventory` against lshw (hyperfine); results in target/bench-inventory/.
bench-inventory:
    sudo scripts/bench-inventory.sh

# The same inside the QEMU guest (an idle machine); not part of the VM test tier.
bench-inventory-vm:
    sudo scripts/vm-test.sh tests/vm/benchmarks/inventory.sh

# `atelier deploy` against bmaptool and xz/zstd | dd on loop devices; results in docs/benchmarks.md (Deploy).
bench-deploy:
    sudo scripts/bench-deploy.sh

# Formatting and lints.
lint:
    scripts/lint.sh
