-- bedup tracking database, schema version 1.
-- Table and column names follow the original bedup's (SPEC.md §4); the
-- Inode table gains what incremental change detection and "never read
-- twice" need: the creation generation (with the volume's root id and the
-- inode number it is the file handle), the last-change transid seen by the
-- scan, and room for the content hash and the extent map it was taken with.

CREATE TABLE Filesystem (
	id    INTEGER PRIMARY KEY,
	uuid  TEXT NOT NULL UNIQUE CHECK (uuid <> ''),
	label TEXT
);

CREATE TABLE Volume (
	id                       INTEGER PRIMARY KEY,
	fs_id                    INTEGER NOT NULL REFERENCES Filesystem (id) ON DELETE CASCADE,
	root_id                  INTEGER NOT NULL,
	last_tracked_generation  INTEGER NOT NULL DEFAULT 0,
	last_tracked_size_cutoff INTEGER, -- NULL: never scanned to the end
	size_cutoff              INTEGER NOT NULL,
	UNIQUE (fs_id, root_id)
);

CREATE TABLE VolumePathHistory (
	id     INTEGER PRIMARY KEY,
	vol_id INTEGER NOT NULL REFERENCES Volume (id) ON DELETE CASCADE,
	path   TEXT NOT NULL,
	UNIQUE (vol_id, path)
);

CREATE TABLE Inode (
	vol_id       INTEGER NOT NULL REFERENCES Volume (id) ON DELETE CASCADE,
	ino          INTEGER NOT NULL,
	size         INTEGER NOT NULL,
	generation   INTEGER NOT NULL, -- transaction that created the inode
	transid      INTEGER NOT NULL, -- inode's last-change transid at the last scan
	has_updates  INTEGER NOT NULL DEFAULT 1 CHECK (has_updates IN (0, 1)),
	hash         BLOB,             -- content fingerprint (dedup): XXH3-128 of the data, then XXH3-64 of samples
	hash_transid INTEGER,          -- transid the hash was taken at
	extents      BLOB,             -- extent map the hash was taken with
	PRIMARY KEY (vol_id, ino)
) WITHOUT ROWID;

-- Size groups are walked from the largest size down, within a set of
-- volumes; the flagged index finds the groups worth a look without reading
-- the unflagged bulk.
CREATE INDEX ix_Inode_size ON Inode (size, vol_id);
CREATE INDEX ix_Inode_flagged ON Inode (size, vol_id) WHERE has_updates = 1;

CREATE TABLE DedupEvent (
	id          INTEGER PRIMARY KEY,
	fs_id       INTEGER NOT NULL REFERENCES Filesystem (id) ON DELETE CASCADE,
	item_size   INTEGER NOT NULL,
	bytes_freed INTEGER NOT NULL DEFAULT 0,
	created     TEXT NOT NULL -- UTC, RFC 3339
);

CREATE INDEX ix_DedupEvent_fs_id ON DedupEvent (fs_id);

CREATE TABLE DedupEventInode (
	id       INTEGER PRIMARY KEY,
	event_id INTEGER NOT NULL REFERENCES DedupEvent (id) ON DELETE CASCADE,
	vol_id   INTEGER NOT NULL REFERENCES Volume (id) ON DELETE CASCADE,
	ino      INTEGER NOT NULL
);

CREATE INDEX ix_DedupEventInode_event_id ON DedupEventInode (event_id);
CREATE INDEX ix_DedupEventInode_vol_id ON DedupEventInode (vol_id);
