-- Schema version 6: the Inode table is kept in size order. A dedup pass
-- walks the size groups from the largest size down, reads each group's
-- rows and writes them back. Keyed by (vol_id, ino), the rows of a group
-- lay on as many pages as it has members: a window of small files read
-- and dirtied about a page per file, more than SQLite's page cache holds,
-- and each commit logged them all, then checkpointed them. Keyed by
-- (size, vol_id, ino), a window's rows share a few neighbouring pages,
-- and a group is read without a lookup per member. Lookups by inode go
-- through ix_Inode_ino, which holds the key's size too; a scan's inserts
-- now land in size order in the table, as they did in the size index this
-- key replaces.

DROP TRIGGER tr_Inode_parents;
DROP TRIGGER tr_Inode_extentfile;
DROP INDEX ix_Inode_size;
DROP INDEX ix_Inode_flagged;
DROP INDEX ix_Inode_frozen;

CREATE TABLE Inode_v6 (
	vol_id       INTEGER NOT NULL REFERENCES Volume (id) ON DELETE CASCADE,
	ino          INTEGER NOT NULL,
	size         INTEGER NOT NULL,
	generation   INTEGER NOT NULL, -- transaction that created the inode
	transid      INTEGER NOT NULL, -- inode's last-change transid at the last scan
	has_updates  INTEGER NOT NULL DEFAULT 1 CHECK (has_updates IN (0, 1)),
	hash         BLOB,             -- content fingerprint (dedup)
	hash_transid INTEGER,          -- no data written after this transaction is in hash
	extents      BLOB,             -- extent map the hash was taken with
	frozen       INTEGER NOT NULL DEFAULT 0 CHECK (frozen IN (0, 1)),
	PRIMARY KEY (size, vol_id, ino)
) WITHOUT ROWID;

INSERT INTO Inode_v6 (vol_id, ino, size, generation, transid, has_updates, hash, hash_transid, extents, frozen)
	SELECT vol_id, ino, size, generation, transid, has_updates, hash, hash_transid, extents, frozen
	FROM Inode ORDER BY size, vol_id, ino;

DROP TABLE Inode;
ALTER TABLE Inode_v6 RENAME TO Inode;

CREATE UNIQUE INDEX ix_Inode_ino ON Inode (vol_id, ino);
CREATE INDEX ix_Inode_flagged ON Inode (size, vol_id) WHERE has_updates = 1;
CREATE INDEX ix_Inode_frozen ON Inode (vol_id) WHERE frozen = 1;

CREATE TRIGGER tr_Inode_parents AFTER DELETE ON Inode BEGIN
	DELETE FROM InodeParent WHERE vol_id = old.vol_id AND ino = old.ino;
END;

CREATE TRIGGER tr_Inode_extentfile AFTER DELETE ON Inode BEGIN
	DELETE FROM ExtentFile WHERE vol_id = old.vol_id AND ino = old.ino;
END;
