"""The vendored KVS WebRTC browser bundle is the one ``tools/vendor_web.sh`` recorded: its
SHA-256 matches ``kvs-webrtc.min.js.sha256`` (a hand edit or a partial copy fails here)."""

from __future__ import annotations

import hashlib
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "cloud" / "web" / "vendor"


def test_the_kvs_bundle_matches_its_recorded_checksum():
    recorded, name = (VENDOR / "kvs-webrtc.min.js.sha256").read_text().split()
    assert name == "kvs-webrtc.min.js"
    assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == recorded
