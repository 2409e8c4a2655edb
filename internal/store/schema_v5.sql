-- Schema version 5: write-ahead intents of shares, so that the dedup
-- history never misses a share (docs/design-notes.md, "Failures").
-- Before a window's first FIDEDUPERANGE, one transaction logs every share
-- the window plans: the source, the destinations (with their creation
-- generations, to open them by handle) and what sharing into all of them
-- frees. The window's results commit turns each into its DedupEvent and
-- deletes it; an intent still here at the start of a run belongs to a run
-- that was killed in between: the run checks with FIEMAP which
-- destinations share the source and logs those.

CREATE TABLE DedupIntent (
	id          INTEGER PRIMARY KEY,
	fs_id       INTEGER NOT NULL REFERENCES Filesystem (id) ON DELETE CASCADE,
	item_size   INTEGER NOT NULL,
	bytes_freed INTEGER NOT NULL, -- freed if every destination shares
	created     TEXT NOT NULL     -- UTC, RFC 3339
);

CREATE INDEX ix_DedupIntent_fs_id ON DedupIntent (fs_id);

CREATE TABLE DedupIntentInode (
	intent_id  INTEGER NOT NULL REFERENCES DedupIntent (id) ON DELETE CASCADE,
	pos        INTEGER NOT NULL, -- 0: the source, then the destinations
	vol_id     INTEGER NOT NULL REFERENCES Volume (id) ON DELETE CASCADE,
	ino        INTEGER NOT NULL,
	generation INTEGER NOT NULL,
	PRIMARY KEY (intent_id, pos)
) WITHOUT ROWID;

CREATE INDEX ix_DedupIntentInode_vol_id ON DedupIntentInode (vol_id);
