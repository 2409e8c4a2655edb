-- Schema version 4: files left unshared only because they are in a
-- read-only subvolume nobody named (docs/design-notes.md, "Snapshot-stable
-- decisions"). Such a file is not flagged, so its size group is not
-- examined again on every run; it is frozen instead, and flagged again
-- (thawed) when a run may write into its subvolume.

ALTER TABLE Inode ADD COLUMN frozen INTEGER NOT NULL DEFAULT 0 CHECK (frozen IN (0, 1));

-- Thawing a volume finds its frozen inodes without reading the others.
CREATE INDEX ix_Inode_frozen ON Inode (vol_id) WHERE frozen = 1;

-- Versions 2 and 3 kept such files flagged: their groups are decided once more
-- by the next run, which freezes them.
