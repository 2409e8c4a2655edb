-- Schema version 3: the block index of partial-file deduplication
-- (docs/design-notes.md, "Partial-file deduplication"). Every tracked file
-- of at least the extent threshold has its content cut into 128 KiB chunks
-- aligned to file offset 0; a chunk's key is a 64-bit hash of its 32 block
-- checksums (from the csum tree, or computed by reading). Equal keys in two
-- files are candidate runs to share.

CREATE TABLE ExtentFile (
	id      INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: ExtentGone names old ids
	vol_id  INTEGER NOT NULL REFERENCES Volume (id) ON DELETE CASCADE,
	ino     INTEGER NOT NULL,
	transid INTEGER NOT NULL, -- the inode's transid the keys hold for
	print   BLOB,             -- extent-map fingerprint the keys were taken with
	keys    BLOB NOT NULL,    -- one 8-byte little-endian key per chunk; 0: no key
	pending INTEGER NOT NULL DEFAULT 1 CHECK (pending IN (0, 1)), -- not yet matched
	UNIQUE (vol_id, ino)
);

-- key -> the chunks holding it. The rows of a file are deleted through its
-- keys blob, so no second index by file is needed (about 25 bytes per
-- indexed 128 KiB).
CREATE TABLE ExtentKey (
	key   INTEGER NOT NULL,
	file  INTEGER NOT NULL, -- ExtentFile.id
	chunk INTEGER NOT NULL, -- file offset / 128 KiB
	PRIMARY KEY (key, file, chunk)
) WITHOUT ROWID;

-- A deleted ExtentFile row (its inode dropped, its volume or filesystem
-- forgotten) leaves its keys here until the next pass deletes their rows.
CREATE TABLE ExtentGone (
	file INTEGER PRIMARY KEY,
	keys BLOB NOT NULL
);

CREATE TRIGGER tr_ExtentFile_gone AFTER DELETE ON ExtentFile BEGIN
	INSERT OR REPLACE INTO ExtentGone (file, keys) VALUES (old.id, old.keys);
END;

CREATE TRIGGER tr_Inode_extentfile AFTER DELETE ON Inode BEGIN
	DELETE FROM ExtentFile WHERE vol_id = old.vol_id AND ino = old.ino;
END;
