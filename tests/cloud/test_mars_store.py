"""The stores: a directory, and a private S3 bucket (moto) with presigned URLs."""

from __future__ import annotations

import pytest

from cloud.mars.store import LocalStore, S3Store, open_store

PUBLIC = ("http://acs.amazonaws.com/groups/global/AllUsers",
          "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")


def test_local_store_round_trip_and_missing(tmp_path):
    store = LocalStore(tmp_path / "data")
    assert store.get("bmp/abc.bmp") is None
    store.put("bmp/abc.bmp", b"BM1", "image/bmp")
    store.put("bmp/abc.bmp", b"BM2", "image/bmp")
    assert store.get("bmp/abc.bmp") == b"BM2"
    assert store.url("bmp/abc.bmp", 60) is None  # the API serves local bitmaps
    assert not [p for p in (tmp_path / "data" / "bmp").iterdir() if p.name.startswith(".tmp")]


@pytest.mark.parametrize("key", ["../escape", "/abs", "a//b", "a/../b", "", "a b", "meta/."])
def test_keys_cannot_escape_the_store(tmp_path, key):
    store = LocalStore(tmp_path)
    with pytest.raises(ValueError):
        store.put(key, b"x", "text/plain")
    with pytest.raises(ValueError):
        store.get(key)


def test_open_store():
    assert isinstance(open_store("/tmp/x"), LocalStore)
    s3 = open_store("s3://mars-bitmaps/prod/cache")
    assert isinstance(s3, S3Store) and (s3.bucket, s3.prefix) == ("mars-bitmaps", "prod/cache")
    with pytest.raises(ValueError):
        open_store("s3:///nothing")


@pytest.fixture
def s3(monkeypatch):
    moto = pytest.importorskip("moto")
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with moto.mock_aws():
        import boto3

        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="mars-bitmaps")
        yield client


def test_s3_store_round_trip_under_prefix(s3):
    store = S3Store("mars-bitmaps", "prod", client=s3)
    assert store.get("bmp/abc.bmp") is None
    store.put("bmp/abc.bmp", b"BMdata", "image/bmp")
    assert store.get("bmp/abc.bmp") == b"BMdata"
    head = s3.head_object(Bucket="mars-bitmaps", Key="prod/bmp/abc.bmp")
    assert head["ContentType"] == "image/bmp"


def test_s3_objects_stay_private_and_presigned_urls_work(s3):
    import requests  # moto intercepts requests' HTTP calls in-process

    store = S3Store("mars-bitmaps", "prod", client=s3)
    store.put("bmp/abc.bmp", b"BMdata", "image/bmp")
    grants = s3.get_object_acl(Bucket="mars-bitmaps", Key="prod/bmp/abc.bmp")["Grants"]
    grants += s3.get_bucket_acl(Bucket="mars-bitmaps")["Grants"]
    assert not [g for g in grants if g["Grantee"].get("URI") in PUBLIC]
    url = store.url("bmp/abc.bmp", 600)
    assert "Signature" in url or "X-Amz-Signature" in url
    assert requests.get(url).content == b"BMdata"
    unsigned = url.split("?")[0]
    assert requests.get(unsigned).status_code == 403


def test_service_on_s3_answers_presigned_urls(s3, make_service, tmp_path):
    import requests

    from cloud.mars.query import ImageRequest

    service = make_service(store=S3Store("mars-bitmaps", "cache", client=s3))
    image = service.payload(ImageRequest(), "http://unused")["image"]
    assert image["url"].startswith("https://mars-bitmaps.s3.amazonaws.com/cache/bmp/")
    assert len(requests.get(image["url"]).content) == image["bytes"]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="mars-bitmaps")["Contents"]}
    assert {"cache/meta/weather.json", "cache/meta/photos.json"} <= keys
