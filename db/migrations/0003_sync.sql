-- Sync: what each device holds, what it has pushed, and who is asked to decide on sync work.

-- A device's scope: the families it may hold offline. A grant starts when its worker is allocated and ends when
-- they no longer are; an ended grant is repeated to the device as `purge_family` until the device acknowledges it.
-- `number` counts a device's grants, so a pull cursor can say which grants' families were delivered whole.
CREATE TABLE device_grants (
    organisation_id uuid NOT NULL,
    id              uuid NOT NULL,
    device_id       uuid NOT NULL,
    family_id       uuid NOT NULL,
    number          bigint NOT NULL,
    granted_at      timestamptz NOT NULL DEFAULT now(),
    ended_at        timestamptz,
    end_reason      text,
    purge_acked_at  timestamptz,
    PRIMARY KEY (organisation_id, id),
    UNIQUE (organisation_id, device_id, number),
    FOREIGN KEY (organisation_id, device_id) REFERENCES devices (organisation_id, id),
    FOREIGN KEY (organisation_id, family_id) REFERENCES families (organisation_id, id)
);
CREATE UNIQUE INDEX device_grants_one_active ON device_grants (organisation_id, device_id, family_id) WHERE ended_at IS NULL;
CREATE INDEX device_grants_unacked ON device_grants (organisation_id, device_id) WHERE ended_at IS NOT NULL AND purge_acked_at IS NULL;

-- Every sequence number a device has used, with the stored result a re-sent mutation gets back. A mutation id takes
-- effect once: only one row per id may be other than a duplicate.
CREATE TABLE sync_mutations (
    organisation_id uuid NOT NULL,
    device_id       uuid NOT NULL,
    seq             bigint NOT NULL CHECK (seq >= 1),
    mutation_id     uuid NOT NULL,
    payload_hash    bytea NOT NULL,
    status          text NOT NULL CHECK (status IN ('applied', 'duplicate', 'applied_with_conflict', 'rejected')),
    result          jsonb NOT NULL,
    processed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, device_id, seq),
    FOREIGN KEY (organisation_id, device_id) REFERENCES devices (organisation_id, id)
);
CREATE UNIQUE INDEX sync_mutations_once ON sync_mutations (organisation_id, mutation_id) WHERE status <> 'duplicate';

-- A review item can be addressed to several workers (a field conflict goes to both editors) besides the supervisors
-- of its team.
CREATE TABLE review_item_recipients (
    organisation_id uuid NOT NULL,
    review_item_id  uuid NOT NULL,
    worker_id       uuid NOT NULL,
    PRIMARY KEY (organisation_id, review_item_id, worker_id),
    FOREIGN KEY (organisation_id, review_item_id) REFERENCES review_items (organisation_id, id),
    FOREIGN KEY (organisation_id, worker_id) REFERENCES workers (organisation_id, id)
);
CREATE INDEX review_item_recipients_worker ON review_item_recipients (organisation_id, worker_id);
INSERT INTO review_item_recipients (organisation_id, review_item_id, worker_id)
SELECT organisation_id, id, worker_id FROM review_items WHERE worker_id IS NOT NULL;

-- Who last set each editable field of a person, so a conflict can be shown to both editors.
ALTER TABLE people ADD COLUMN field_editors jsonb NOT NULL DEFAULT '{}';

-- A device's clock is stored and shown, never used for ordering.
ALTER TABLE notes ADD COLUMN clock_suspect boolean NOT NULL DEFAULT false;

-- Pull cursors carry the organisation's sync generation: restoring a backup must be followed by
-- `kith-server new-sync-generation`, after which cursors issued before the restore get 409 `reset_required`.
-- The cursor key signs cursors so a client cannot forge a position.
CREATE TABLE sync_generations (
    organisation_id uuid NOT NULL PRIMARY KEY REFERENCES organisations (id),
    generation      uuid NOT NULL DEFAULT gen_random_uuid(),
    cursor_key      bytea NOT NULL,
    started_at      timestamptz NOT NULL DEFAULT now()
);
