"""Planning and reconciling a publication without the platform (tasks/publication/reconcile.py):
the plan from what this warehouse last published, the merge of remote metadata, and the
publication state kept in meta.publications / meta.instantanes."""

from __future__ import annotations

import copy

import pytest

from tasks.publication import reconcile
from tasks.publication.prepare import DATA, DICTIONARY, KEY_EXTRA, QUALITY, RESOURCE_EXTRA, Record
from tests.unit.conftest import scalar

ENV = "demo"
# Invented ids, in the platform's format (24 hex digits), for what a publication returned.
DATASET_ID = "6650c0ffee0000000000da7a"
RESOURCE_IDS = {
    DATA: "6650c0ffee00000000000001",
    DICTIONARY: "6650c0ffee00000000000002",
    QUALITY: "6650c0ffee00000000000003",
}


def published(prepared):
    """The prepared dataset as a publication leaves it: each resource has its remote id."""
    for resource in prepared.resources:
        resource.metadata["id"] = RESOURCE_IDS[resource.key]
    return prepared


@pytest.fixture
def saved(meta_conn, prepared):
    """The warehouse after `prepared` was published."""
    reconcile.save_state(meta_conn, ENV, published(prepared), DATASET_ID)
    return meta_conn


def actions(plan) -> dict[str, str]:
    return {resource.key: resource.action for resource in plan.resources}


def remote_of(prepared) -> dict:
    """The dataset as the platform returns it once `prepared` was sent (udata fields)."""
    remote = copy.deepcopy(prepared.metadata)
    remote.update(
        id=DATASET_ID,
        description=prepared.metadata["description"] + "\n",
        tags=list(reversed(prepared.metadata["tags"])),
        organization={"id": "org-mel", "name": "Métropole Européenne de Lille"},
        extras={**prepared.metadata["extras"], "harvest:domain": "ailleurs"},
        resources=[{"id": RESOURCE_IDS[DATA]}],
        created_at="2026-01-06T10:00:00",
        private=False,
    )
    return remote


# Planning against the warehouse's records ------------------------------------------------
def test_a_dataset_never_published_is_to_create_with_every_file_to_upload(prepared):
    plan = reconcile.plan_from_records(prepared, None, {})
    assert plan.action == reconcile.CREATE and plan.dataset_id is None
    assert plan.title == prepared.metadata["title"]
    assert actions(plan) == {
        DATA: reconcile.UPLOAD,
        DICTIONARY: reconcile.UPLOAD,
        QUALITY: reconcile.UPLOAD,
    }
    assert plan.touched
    # the changelog entry of the new file is shown with it
    data = next(r for r in plan.resources if r.key == DATA)
    assert data.changes == f"première publication ({prepared.rows} lignes)"


def test_the_same_dataset_again_is_unchanged(saved, prepared):
    records = reconcile.load_records(saved, ENV, prepared.key)
    plan = reconcile.plan_from_records(prepared, None, records)
    assert plan.action == reconcile.UNCHANGED and plan.dataset_id == DATASET_ID
    assert actions(plan) == {
        DATA: reconcile.UNCHANGED,
        DICTIONARY: reconcile.UNCHANGED,
        QUALITY: reconcile.UNCHANGED,
    }
    assert not plan.touched
    assert all(resource.changes is None for resource in plan.resources)


def test_a_changed_file_is_to_replace_and_changed_metadata_to_update(saved, prepared):
    records = reconcile.load_records(saved, ENV, prepared.key)
    records[DATA].sha1 = "0" * 40
    prepared.metadata["title"] += " (révisé)"
    plan = reconcile.plan_from_records(prepared, None, records)
    assert plan.action == reconcile.UPDATE
    # the prepared file is a first publication: what was published is not known, it is kept
    assert actions(plan) == {
        DATA: reconcile.ARCHIVE_REPLACE,
        DICTIONARY: reconcile.UNCHANGED,
        QUALITY: reconcile.UNCHANGED,
    }


def test_a_changed_resource_description_alone_is_a_metadata_update(saved, prepared):
    records = reconcile.load_records(saved, ENV, prepared.key)
    prepared.resources[1].metadata["description"] = "Une autre description."
    plan = reconcile.plan_from_records(prepared, None, records)
    assert plan.action == reconcile.UNCHANGED
    assert actions(plan) == {
        DATA: reconcile.UNCHANGED,
        DICTIONARY: reconcile.METADATA,
        QUALITY: reconcile.UNCHANGED,
    }


def test_the_fiche_id_is_the_dataset_when_this_warehouse_published_nothing(prepared):
    plan = reconcile.plan_from_records(prepared, DATASET_ID, {})
    assert plan.dataset_id == DATASET_ID and plan.action != reconcile.CREATE
    assert actions(plan) == {
        DATA: reconcile.UPLOAD,
        DICTIONARY: reconcile.UPLOAD,
        QUALITY: reconcile.UPLOAD,
    }


# Remote metadata ----------------------------------------------------------------------
def test_remote_fields_we_do_not_send_are_no_difference(prepared):
    # trailing blank, tag order, an organisation given as an object, a foreign extra
    assert not reconcile._dataset_differs(remote_of(prepared), prepared.metadata)


def test_a_remote_title_edited_by_hand_is_a_difference(prepared):
    remote = remote_of(prepared)
    remote["title"] = "Titre modifié sur le site"
    assert reconcile._dataset_differs(remote, prepared.metadata)


def test_a_remote_zone_or_extra_of_ours_that_differs_is_a_difference(prepared):
    remote = remote_of(prepared)
    remote["spatial"] = {**remote["spatial"], "zones": ["fr:commune:59522"]}
    assert reconcile._dataset_differs(remote, prepared.metadata)
    remote = remote_of(prepared)
    remote["extras"][KEY_EXTRA] = "comparateur/mel"
    assert reconcile._dataset_differs(remote, prepared.metadata)


def test_the_organisation_counts_only_when_we_send_one(prepared):
    remote = remote_of(prepared)
    wanted = {**prepared.metadata, "organization": "org-59522"}
    assert reconcile._dataset_differs(remote, wanted)
    assert not reconcile._dataset_differs(remote, {**wanted, "organization": "org-mel"})


def test_the_merged_dataset_keeps_the_remote_fields_and_takes_ours(prepared):
    remote = remote_of(prepared)
    remote["title"] = "Ancien titre"
    merged = reconcile._merged(remote, prepared.metadata)
    assert "resources" not in merged  # a PUT with resources would rewrite them
    assert merged["title"] == prepared.metadata["title"]
    assert (merged["created_at"], merged["private"], merged["id"]) == (
        remote["created_at"],
        False,
        DATASET_ID,
    )
    assert merged["extras"] == {
        "harvest:domain": "ailleurs",
        KEY_EXTRA: prepared.metadata["extras"][KEY_EXTRA],
    }
    assert merged["organization"] == "org-mel"  # the object's id, as a PUT takes it
    assert not reconcile._dataset_differs(merged, prepared.metadata)


def test_the_merged_dataset_takes_our_organisation_when_we_send_one(prepared):
    wanted = {**prepared.metadata, "organization": "org-59522"}
    assert reconcile._merged(remote_of(prepared), wanted)["organization"] == "org-59522"


# Finding the remote resource -------------------------------------------------------------
def resource_of(prepared, key: str):
    return next(r for r in prepared.resources if r.key == key)


def test_a_resource_is_found_by_its_key_before_its_recorded_id(prepared):
    data = resource_of(prepared, DATA)
    recorded = Record(DATASET_ID, "ancien", data.sha1, "")
    remote = {
        "resources": [
            {"id": "ancien", "extras": {}},
            {"id": "par-cle", "extras": {RESOURCE_EXTRA: DATA}},
        ]
    }
    assert reconcile._find_resource(remote, data.key, data.filename, recorded)["id"] == "par-cle"


def test_a_resource_is_found_by_its_recorded_id(prepared):
    data = resource_of(prepared, DATA)
    recorded = Record(DATASET_ID, "enregistre", data.sha1, "")
    remote = {"resources": [{"id": "autre"}, {"id": "enregistre", "extras": None}]}
    assert reconcile._find_resource(remote, data.key, data.filename, recorded)["id"] == "enregistre"


def test_a_file_uploaded_before_a_failure_is_adopted_by_its_name(prepared):
    data = resource_of(prepared, DATA)
    remote = {"resources": [{"id": "orphelin", "title": data.filename, "extras": {}}]}
    assert reconcile._find_resource(remote, data.key, data.filename, None)["id"] == "orphelin"


def test_another_resource_of_the_same_name_is_never_adopted(prepared):
    data = resource_of(prepared, DATA)
    other = {"id": "autre", "title": data.filename, "extras": {RESOURCE_EXTRA: DICTIONARY}}
    assert reconcile._find_resource({"resources": [other]}, data.key, data.filename, None) is None
    assert reconcile._find_resource({}, data.key, data.filename, None) is None


# Publication state in the warehouse ------------------------------------------------------
def test_nothing_published_has_no_snapshot(meta_conn, prepared):
    assert reconcile.load_records(meta_conn, ENV, prepared.key) == {}
    assert reconcile.load_snapshot(meta_conn, ENV, prepared.key) is None


def test_the_saved_state_reads_back_as_published(saved, prepared):
    records = reconcile.load_records(saved, ENV, prepared.key)
    assert set(records) == {DATA, DICTIONARY, QUALITY}
    for resource in prepared.resources:
        record = records[resource.key]
        assert (record.dataset_id, record.resource_id, record.sha1) == (
            DATASET_ID,
            RESOURCE_IDS[resource.key],
            resource.sha1,
        )
        assert record.dataset_fingerprint == reconcile.fingerprint(prepared.metadata)
        assert record.resource_fingerprint == reconcile.fingerprint(resource.metadata)
    # the journal kept is the changelog part of the description only
    assert records[DATA].journal.startswith("### Journal des modifications\n\n- **2026-11-29**")
    assert records[DICTIONARY].journal == ""
    assert reconcile.load_snapshot(saved, ENV, prepared.key) == prepared.snapshot


def test_the_state_of_one_environment_is_not_the_other(saved, prepared):
    assert reconcile.load_records(saved, "prod", prepared.key) == {}
    assert reconcile.load_snapshot(saved, "prod", prepared.key) is None


def test_records_without_rows_are_an_empty_snapshot_not_a_first_publication(saved, prepared):
    saved.execute("delete from meta.instantanes")
    assert reconcile.load_snapshot(saved, ENV, prepared.key) == {}


def test_a_new_save_replaces_the_previous_state(saved, prepared):
    kept = next(iter(prepared.snapshot))
    prepared.snapshot = {kept: prepared.snapshot[kept]}
    prepared.resources = prepared.resources[:1]
    reconcile.save_state(saved, ENV, prepared, DATASET_ID)
    assert set(reconcile.load_records(saved, ENV, prepared.key)) == {DATA}
    assert reconcile.load_snapshot(saved, ENV, prepared.key) == prepared.snapshot


def test_a_failed_save_leaves_the_previous_state(saved, prepared):
    before = (
        reconcile.load_records(saved, ENV, prepared.key),
        reconcile.load_snapshot(saved, ENV, prepared.key),
    )
    # the second resource has no remote id: the save fails after its first deletes and
    # inserts
    del prepared.resources[1].metadata["id"]
    prepared.snapshot = {}
    with pytest.raises(KeyError):
        reconcile.save_state(saved, ENV, prepared, "un-autre-jeu")
    after = (
        reconcile.load_records(saved, ENV, prepared.key),
        reconcile.load_snapshot(saved, ENV, prepared.key),
    )
    assert after == before
    assert scalar(saved, "select count(distinct dataset_id) from meta.publications") == 1
