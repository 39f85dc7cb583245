"""The real courier app in Chromium signs its scans with a WebCrypto key the server accepts,
an offline-queued scan too; the private key stays non-extractable in IndexedDB."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.custody.models import CustodyEvent
from core.custody.signature_models import DeviceKey, EventDeviceSignature
from core.custody.verify import verify_ledger
from core.identity.models import Device
from core.settings import Settings
from labels.s10 import format_item_id
from tests.browser.conftest import PHONE
from tests.browser.test_courier_app import PASSWORD, _collected_results, _stops_for
from tests.factories import home_post_office, make_user, unique

pytestmark = pytest.mark.browser


def test_the_app_signs_scans_online_and_offline_and_the_server_keeps_the_signatures(
    live_server: str,
    browser: Any,
    committing: sessionmaker[Session],
    live_settings: Settings,
) -> None:
    username = unique("buuta")
    with committing.begin() as session:
        courier = make_user(session, "courier", username=username, password=PASSWORD,
                            post_office_id=home_post_office(session).id)  # fmt: skip
        items = _collected_results(session, live_settings, courier, 2)
        _stops_for(session, courier, items)
        codes = [item.code for item in items]
        courier_id = courier.id
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/courier/")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("nav.tabs")
        page.evaluate("navigator.serviceWorker.ready")
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        key = page.evaluate(
            """async () => {
                const { kv } = await import('/static/courier/store.js');
                const key = await kv.get('signing_key');
                const session = await kv.get('session');
                return { extractable: key.privateKey.extractable, type: key.privateKey.type,
                         algorithm: key.algorithm, key_id: session.key_id };
            }"""
        )
        assert key["extractable"] is False and key["type"] == "private"
        assert key["algorithm"] in ("Ed25519", "ES256") and key["key_id"]

        page.goto(f"{live_server}/courier/#/scan")
        page.wait_for_selector("#scan-form")
        page.select_option("#scan-kind", "out_for_delivery")
        page.fill("#code", format_item_id(codes[0]))
        page.press("#code", "Enter")
        page.wait_for_selector(f"#event-list li[data-code='{codes[0]}'][data-state='accepted']")

        context.set_offline(True)
        page.fill("#code", format_item_id(codes[1]))
        page.press("#code", "Enter")
        page.wait_for_selector(f"#event-list li[data-code='{codes[1]}'][data-state='pending']")
        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        page.wait_for_selector(
            f"#event-list li[data-code='{codes[1]}'][data-state='accepted']", timeout=20_000
        )
    finally:
        context.close()

    with committing() as session:
        device_key = session.scalar(select(DeviceKey).where(DeviceKey.key_id == key["key_id"]))
        assert device_key is not None and device_key.algorithm == key["algorithm"]
        device = session.get(Device, device_key.device_id)
        assert device is not None and device.user_id == courier_id
        events = session.scalars(
            select(CustodyEvent).where(
                CustodyEvent.kind == "out_for_delivery",
                CustodyEvent.device_id == device.id,
            )
        ).all()
        assert len(events) == 2
        for event in events:
            signature = session.get(EventDeviceSignature, event.event_id)
            assert signature is not None and signature.key_id == key["key_id"]
        # verify rebuilds every statement from the stored events and checks it.
        problems = [p for p in verify_ledger(session).problems if p.item_code in codes]
        assert problems == []


def test_chromiums_ecdsa_p256_signatures_are_accepted_as_webcrypto_writes_them(
    live_server: str,
    browser: Any,
    committing: sessionmaker[Session],
    live_settings: Settings,
) -> None:
    """The app falls back to ECDSA P-256 where a browser lacks Ed25519: Chromium's own ECDSA
    signature (IEEE P1363 r ∥ s) over the app's own statement is accepted by the server."""
    username = unique("buuta")
    with committing.begin() as session:
        courier = make_user(session, "courier", username=username, password=PASSWORD,
                            post_office_id=home_post_office(session).id)  # fmt: skip
        (item,) = _collected_results(session, live_settings, courier, 1)
        code = item.code
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/courier/")
        page.wait_for_selector("#login-form")
        answer = page.evaluate(
            """async ([username, password, code]) => {
                const { statement } = await import('/static/courier/signing.js');
                const { localIso } = await import('/static/courier/sync.js');
                const pair = await crypto.subtle.generateKey(
                    { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
                const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey));
                const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
                const post = async (path, body, token) => {
                    const headers = { 'Content-Type': 'application/json' };
                    if (token) headers.Authorization = `Bearer ${token}`;
                    const r = await fetch(`/mobile/v1${path}`,
                        { method: 'POST', headers, body: JSON.stringify(body) });
                    return r.json();
                };
                const login = await post('/auth/login', { username, password, device: {
                    install_id: crypto.randomUUID(), name: 'ECDSA', platform: 'web',
                    public_key: b64(spki), key_algorithm: 'ES256' } });
                const when = new Date();
                const event = { client_event_id: crypto.randomUUID(), kind: 'out_for_delivery',
                    code, occurred_at: localIso(when), lat: 21.0285, lon: 105.8542,
                    gps_accuracy_m: 8, evidence: {}, details: {} };
                const data = await statement(event, login.key_id, when);
                const signature = await crypto.subtle.sign(
                    { name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, data);
                const sent = await post('/scans', { events: [
                    { ...event, key_id: login.key_id, signature: b64(signature) }] }, login.token);
                return { length: signature.byteLength, result: sent.results[0] };
            }""",
            [username, PASSWORD, code],
        )
    finally:
        context.close()
    assert answer["length"] == 64  # r ∥ s, not DER
    assert answer["result"]["outcome"] == "accepted", answer
    with committing() as session:
        problems = [p for p in verify_ledger(session).problems if p.item_code == code]
        assert problems == []
        stored = session.scalars(
            select(EventDeviceSignature)
            .join(CustodyEvent, CustodyEvent.event_id == EventDeviceSignature.event_id)
            .where(CustodyEvent.client_event_id == answer["result"]["client_event_id"])
        ).all()
        assert len(stored) == 1
