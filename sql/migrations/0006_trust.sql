-- Trust: the audit log of every write, and what API keys are bound to.

-- Every write through the API or the CLI: who, what, on which object, when, and the state before and after.
-- Written in the same transaction as the write it records (geo_api.audit.record), so a row here means the
-- write committed and a committed write always has its row. Personal data of reporters is never put here.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pada        timestamptz NOT NULL DEFAULT now(),
    oleh        text NOT NULL CHECK (length(oleh) BETWEEN 1 AND 200),   -- api_key:NAME or cli:USER
    api_key_id  integer REFERENCES api_key (id),
    alamat      text CHECK (length(alamat) <= 100),                     -- client address of an HTTP write
    aksi        text NOT NULL CHECK (aksi ~ '^[a-z_]+\.[a-z_]+$'),       -- e.g. laporan.status, layer.publish
    objek       text NOT NULL CHECK (length(objek) <= 200),             -- e.g. laporan:42, rule:7, key:dinas-pu
    sebelum     jsonb,
    sesudah     jsonb
);
CREATE INDEX audit_log_pada_idx ON audit_log (pada);
CREATE INDEX audit_log_objek_idx ON audit_log (objek, pada);

-- A tracker key sends positions for this one device identifier (fleet.device.unique_id) only.
ALTER TABLE api_key ADD COLUMN device_unique_id text CHECK (length(device_unique_id) BETWEEN 1 AND 128);
ALTER TABLE api_key ADD CONSTRAINT api_key_device_only_tracker
    CHECK (device_unique_id IS NULL OR role = 'tracker');
-- Rotation replaces the stored hash in place (name, role and bindings stay): when it last happened.
ALTER TABLE api_key ADD COLUMN rotated_at timestamptz;
CREATE INDEX api_key_tracker_idx ON api_key (device_unique_id) WHERE revoked_at IS NULL AND role = 'tracker';
