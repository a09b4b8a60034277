"""The /verify/ page (issue 17): caches the keys online, then verifies with the network off.

Screenshots go to var/screenshots/ (verify-*.png).
"""
from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

import base45
import pytest

from tests.health.test_api_public import with_beijing_stay

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def tampered(text: str) -> str:
    data = bytearray(zlib.decompress(base45.b45decode(text[4:])))
    data[-70] ^= 0x01  # a byte inside the signed payload
    return "HK1:" + base45.b45encode(zlib.compress(bytes(data))).decode()


def test_the_verify_page_works_offline_with_the_keys_it_cached(page, shot, live_server):
    payload = with_beijing_stay("张三")
    answer = page.request.post(f"{live_server.url}/api/v1/status/query/", data=payload).json()
    text = answer["pass"]["text"]
    page.set_viewport_size({"width": 390, "height": 844})  # a phone

    # online: the page, its service worker and the key list
    page.goto("/verify/")
    page.wait_for_selector("#verify[data-keys-ready=online]")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function(
        "caches.open('health-kit-verify-v1').then(c => c.keys()).then(k => k.length === 3)"
    )
    shot("verify-01-online")

    # offline: the page comes from the service worker, the keys from the last visit
    page.context.set_offline(True)
    page.reload()
    page.wait_for_selector("#verify[data-keys-ready]")
    assert "离线" in page.inner_text("#keys-state")
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    shot("verify-02-offline")

    page.fill("#text", text)
    page.click("#check")
    page.wait_for_selector("#result[data-outcome=valid]")
    assert page.inner_text("#result .label") == answer["label"]
    assert "张*" in page.inner_text("#result .holder")
    assert "有效至" in page.inner_text("#result .time")
    shot("verify-03-offline-valid")

    page.click("#result")
    page.fill("#text", tampered(text))
    page.click("#check")
    page.wait_for_selector("#result[data-outcome=refused]")
    assert page.get_attribute("#result", "data-refusal") == "forged"
    assert "签名不符" in page.inner_text("#result .holder")
    shot("verify-04-offline-tampered")

    page.click("#result")
    page.fill("#text", "hello")
    page.click("#check")
    page.wait_for_selector("#result[data-refusal=malformed]")

    # three days later, still offline: the key list is too old to trust
    page.click("#result")
    page.clock.set_fixed_time(datetime.now(UTC) + timedelta(days=3))
    page.fill("#text", text)
    page.click("#check")
    page.wait_for_selector("#result[data-refusal=stale_keys]")
    assert "超过2天" in page.inner_text("#result .holder")
    shot("verify-05-offline-keys-too-old")
    page.context.set_offline(False)
