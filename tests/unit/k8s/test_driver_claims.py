"""What the process's passes last planned (``WriteDeps.claims``) outlives neither the object nor
the lease: a pass or sweep plans from it only while it is fresher than the store. No API server."""

from __future__ import annotations

from bucketaccess.k8s import driver
from tests.unit.k8s.test_subjects import runtime
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
