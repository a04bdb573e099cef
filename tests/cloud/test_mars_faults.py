"""Faults of the Mars API's own parts, reproduced: bad images at cold start, a read-only store,
an unwritable data directory (#12 items 8 and 9)."""

from __future__ import annotations

import subprocess
import sys

from cloud.mars.query import ImageRequest
from cloud.mars.rotation import RETRY_PHOTO_S
from cloud.mars.store import LocalStore
from testing.fake_nasa import Reply, error_page
from testing.stack_process import ROOT

BASE = "http://127.0.0.1:8080"


def test_bad_images_at_cold_start_cost_a_minute_and_are_reported_stale(make_service, nasa,
                                                                       clock, caplog):
    nasa.script("image", error_page(503))  # NASA's image servers fail for a few seconds
    service = make_service()
    answer = service.payload(ImageRequest(), BASE)
    assert answer["image"] is None and answer["stale"] is True
    assert "no photo of" in caplog.text and "could be shown" in caplog.text
    nasa.script("image")  # they are back
    clock.advance(RETRY_PHOTO_S + 1)
    answer = service.payload(ImageRequest(), BASE)
    assert answer["image"] is not None and answer["stale"] is False


def test_a_read_only_store_still_answers_new_sizes(make_service, nasa, tmp_path, monkeypatch):
    service = make_service()
    service.payload(ImageRequest(), BASE)  # metadata is in place
    monkeypatch.setattr(LocalStore, "put", _refuse)
    answer = service.payload(ImageRequest(200, 100, 16), BASE)  # a size never converted
    assert answer["image"]["width"] == 200
    assert len(service.bitmap(answer["image"]["etag"])) == answer["image"]["bytes"]


def _refuse(self, key, data, content_type):
    from cloud.mars.store import StoreError

    raise StoreError(f"cannot write {key}: read-only file system")


def test_an_unwritable_data_dir_is_one_line_not_a_traceback(tmp_path):
    blocker = tmp_path / "a-file"  # not a directory: unwritable even for root
    blocker.write_text("")
    result = subprocess.run([sys.executable, "-m", "tools.stack", "--only", "api",
                             "--data-dir", str(blocker / "data")], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "cannot write to the data directory" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_hostile_feed_nesting_json_too_deep_is_a_failed_source(make_service, nasa):
    """1000s of ``[`` from a feed raised RecursionError, which nothing caught."""
    nasa.script("perseverance", Reply(body=b"[" * 100_000))
    nasa.script("rems", Reply(body=b'{"soles": ' + b"[" * 100_000))
    answer = make_service().payload(ImageRequest(), BASE)
    assert answer["image"]["rover"] == "Curiosity"  # the next photo source
    assert answer["weather"]["source"] != "REMS"  # the next weather source
