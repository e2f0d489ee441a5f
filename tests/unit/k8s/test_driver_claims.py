"""What the process's passes last planned (``WriteDeps.claims``) outlives neither the object nor
the lease: a pass or sweep plans from it only while it is fresher than the store. No API server."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from bucketaccess.k8s import driver, status
from tests.unit.k8s.test_subjects import body, runtime
from tests.unit.reconcile.test_pass import peer


def test_a_deleted_object_is_planned_no_more_even_from_its_own_last_claim() -> None:
    rt = runtime()
    rt.writes.claims["gone"] = peer(uid="gone")
    rt.writes.claims["stays"] = peer(uid="stays")
    rt.forget("gone")  # its DELETED event
    assert set(rt.writes.claims) == {"stays"}
    assert "gone" in rt.writes.released  # a pass of it still in flight writes nothing


def test_losing_the_lease_drops_every_claim() -> None:
    rt = runtime()
    rt.writes.claims["a"] = peer(uid="a")
    driver.on_leadership(rt, False)
    assert rt.writes.claims == {}


def test_an_object_found_gone_by_its_own_status_write_is_forgotten(monkeypatch: Any) -> None:
    """Deleted while the watch was down: no DELETED event will come, the 404 of the status write
    is the only news of it, and its grant must not stay planned from the store."""
    rt = runtime()
    gone = body("gone")
    rt.store.put(gone)
    rt.writes.claims["uid-gone"] = peer(uid="uid-gone")
    monkeypatch.setattr(driver, "run_pass", lambda *_: SimpleNamespace(conditions=[]))

    def deleted(*_: Any) -> None:
        raise status.ObjectGone("gone")

    monkeypatch.setattr(status, "write", deleted)
    assert driver.drive_pass(gone, rt) is None  # and nothing reschedules it
    assert rt.store.get("uid-gone") is None
    assert "uid-gone" not in rt.writes.claims and "uid-gone" in rt.writes.released


def test_an_object_the_start_up_listing_had_but_the_api_server_no_longer_has_is_forgotten(
    monkeypatch: Any,
) -> None:
    from bucketaccess.k8s import subjects

    rt = runtime()
    listed = body("listed")
    rt.store.put(listed)
    rt.writes.claims["uid-listed"] = peer(uid="uid-listed")
    monkeypatch.setattr(subjects, "get_object", lambda *_: None)
    assert subjects._confirmed(rt, listed) is None
    assert rt.store.get("uid-listed") is None and "uid-listed" not in rt.writes.claims
