#!/usr/bin/env bash
# Kernel TLS tests inside a throw-away VM (the host kernel has no kTLS).
echo "vm tests: none yet"
