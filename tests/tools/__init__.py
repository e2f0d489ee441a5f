"""Tests that drive the real command-line tools (helm, promtool), built from their Go modules by
operator/devenv/gotools.py and cached under ~/.cache/bucketaccess/tools."""
