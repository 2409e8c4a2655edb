-- Schema version 2: directory ancestry, so that a run can be restricted to
-- the files below some directories (docs/design-notes.md, "Directory
-- targets"). For every directory and every tracked file of a volume, the
-- scan records the directories holding a name of it: the key offsets of its
-- INODE_REF items and the parents in its INODE_EXTREF items. A subvolume's
-- root directory (inode 256) has no row: its only ref is to itself.

CREATE TABLE InodeParent (
	vol_id INTEGER NOT NULL REFERENCES Volume (id) ON DELETE CASCADE,
	ino    INTEGER NOT NULL, -- a directory or a tracked file
	parent INTEGER NOT NULL, -- a directory holding one of its names
	dir    INTEGER NOT NULL CHECK (dir IN (0, 1)), -- ino is a directory
	PRIMARY KEY (vol_id, ino, parent)
) WITHOUT ROWID;

-- Descending from a directory walks (vol_id, parent) -> ino; a changed
-- directory's subdirectories are checked for deletion.
CREATE INDEX ix_InodeParent_parent ON InodeParent (vol_id, parent);
CREATE INDEX ix_InodeParent_subdirs ON InodeParent (vol_id, parent) WHERE dir = 1;

-- A tracked file that is dropped (deleted, shrunk, replaced) takes its
-- parent rows along, wherever it is dropped from.
CREATE TRIGGER tr_Inode_parents AFTER DELETE ON Inode BEGIN
	DELETE FROM InodeParent WHERE vol_id = old.vol_id AND ino = old.ino;
END;

-- Inodes tracked by version 1 have no parents, and an unchanged inode is
-- not seen again by an incremental scan: every volume is scanned once more
-- from generation 0 (metadata only; rows that did not change keep their
-- hashes and flags).
UPDATE Volume SET last_tracked_generation = 0, last_tracked_size_cutoff = NULL;
