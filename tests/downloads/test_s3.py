"""The S3 path of downloads, against moto's S3 API on 127.0.0.1 (never the
internet): the bytes go to the bucket under their random name, a link answers
with a redirect to a short presigned URL after counting, and that URL hands the
file over as an attachment that never renders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from django.test import TestCase

from downloads.links import download_link_path
from downloads.models import OrderDownload
from downloads.services import product_file_delete
from fulfillment.services.aftersale import order_cancel
from orders.aftersale import Actor
from tests.factories import add_file, place

pytestmark = pytest.mark.django_db

BUCKET = "downloads-test"
CREDENTIALS = {"access_key": "testing", "secret_key": "testing"}


@pytest.fixture(scope="module")
def moto_endpoint():
    """moto's S3 on a free port of 127.0.0.1, for this module's tests."""
    try:
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
    except Exception as exc:  # pragma: no cover - only where moto is missing
        if os.environ.get("REQUIRE_TOOLS"):
            raise
        pytest.skip(f"moto's S3 server could not start here: {exc!r}")
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(settings, moto_endpoint, monkeypatch):
    """The downloads storage on a fresh bucket of moto's S3, configured as
    config/settings.py does for DOWNLOADS_S3_BUCKET; the boto3 client to look."""
    import boto3

    # A proxy configured on the machine must not carry loopback requests.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")

    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "downloads": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": moto_endpoint,
                "region_name": "us-east-1",
                **CREDENTIALS,
                "signature_version": "s3v4",
                "querystring_auth": True,
                "file_overwrite": False,
                "default_acl": None,
            },
        },
    }
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_an_upload_is_stored_in_the_bucket_under_its_random_name(s3, live_product):
    file = add_file(live_product, name="app.zip", content=b"zip-bytes")

    stored = s3.get_object(Bucket=BUCKET, Key=file.storage_name)
    assert stored["Body"].read() == b"zip-bytes"
    assert "app.zip" not in file.storage_name


def test_a_link_redirects_to_a_short_presigned_url_after_counting(
    s3, live_product, client, moto_endpoint, settings
):
    order = place(live_product)
    file = add_file(live_product, name="page.html", content=b"<script>x</script>")

    response = client.get(download_link_path(order_id=order.pk, file_id=file.pk))

    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"{moto_endpoint}/{BUCKET}/{file.storage_name}?")
    query = parse_qs(urlsplit(location).query)
    assert query["X-Amz-Expires"] == [str(settings.DOWNLOAD_PRESIGNED_SECONDS)]
    assert query["response-content-type"] == ["application/octet-stream"]
    assert query["response-content-disposition"] == ['attachment; filename="page.html"']
    assert response["Cache-Control"] == "private, no-store"
    assert OrderDownload.objects.get(order=order, file=file).count == 1


def test_the_presigned_url_hands_over_an_attachment(s3, live_product, client):
    order = place(live_product)
    file = add_file(live_product, name="page.html", content=b"<script>x</script>")
    location = client.get(
        download_link_path(order_id=order.pk, file_id=file.pk)
    ).headers["Location"]

    fetched = requests.get(location, timeout=10)

    assert fetched.status_code == 200
    assert fetched.content == b"<script>x</script>"
    assert fetched.headers["Content-Type"] == "application/octet-stream"
    assert fetched.headers["Content-Disposition"] == 'attachment; filename="page.html"'


def test_a_closed_order_gets_no_presigned_url(s3, live_product, client):
    order = place(live_product)
    file = add_file(live_product)
    actor = Actor.seller(user_id=live_product.seller.pk, username="alice")
    order_cancel(order_id=order.pk, reason="", actor=actor)

    response = client.get(download_link_path(order_id=order.pk, file_id=file.pk))

    assert response.status_code == 403
    assert "Location" not in response


def test_deleting_a_file_removes_it_from_the_bucket(s3, live_product):
    file = add_file(live_product)

    with TestCase.captureOnCommitCallbacks(execute=True):
        product_file_delete(file=file)

    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_the_environment_alone_switches_downloads_to_s3(tmp_path):
    code = (
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.STORAGES['downloads']))"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "VAR_DIR": str(tmp_path),
        "DOWNLOADS_S3_BUCKET": "shop-files",
        "DOWNLOADS_S3_ENDPOINT_URL": "https://s3.example.com",
        "DOWNLOADS_S3_REGION": "eu-central-1",
        "DOWNLOADS_S3_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "DOWNLOADS_S3_SECRET_ACCESS_KEY": "secret-example",
    }
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=settings.BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    storage = json.loads(result.stdout.splitlines()[-1])
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert {
        "bucket_name": "shop-files",
        "endpoint_url": "https://s3.example.com",
        "region_name": "eu-central-1",
        "access_key": "AKIDEXAMPLE",
        "secret_key": "secret-example",
        "querystring_auth": True,
        "file_overwrite": False,
    }.items() <= storage["OPTIONS"].items()
