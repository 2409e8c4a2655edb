package ui

import (
	"fmt"

	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/run"
)

// reasonTexts says in words why a file was skipped.
var reasonTexts = map[dedupe.Reason]string{
	dedupe.ReasonNocowMismatch: "NOCOW flag differs from the source (the kernel refuses to share between them)",
	dedupe.ReasonImmutable:     "immutable file",
	dedupe.ReasonSwapfile:      "active swap file",
	dedupe.ReasonBusy:          "busy (a btrfs send is using its subvolume), retry later",
	dedupe.ReasonReadOnlyFS:    "on a read-only mount or subvolume",
	dedupe.ReasonOtherFS:       "on another filesystem",
	dedupe.ReasonIO:            "I/O error",
	dedupe.ReasonRefused:       "the kernel refused to share it",
	dedupe.ReasonChanged:       "changed while being deduplicated (kept for the next run)",
	dedupe.ReasonUnreadable:    "cannot be read",
	dedupe.ReasonNocowAlone:    "NOCOW flag differs from its identical copies (the kernel refuses to share between them)",
	dedupe.ReasonMissing:       "no such file",
	dedupe.ReasonNotRegular:    "not a regular file",
}

// ReasonText says in words why a file was skipped.
func ReasonText(r dedupe.Reason) string {
	if s, ok := reasonTexts[r]; ok {
		return s
	}
	return string(r)
}

// FindNewLine renders a find-new record in the original's formats
// (SPEC §8.1). With escape, a name that could break the line is quoted
// (see Path).
func FindNewLine(r FindNewRecord, escape bool) string {
	name := r.Name
	if escape {
		name = Path(name)
	}
	if !r.Decoded {
		return fmt.Sprintf("item type %d oid %d len %d gen0 %d", r.Type, r.ObjectID, r.Len, r.LeafTransid)
	}
	switch r.Type {
	case 12: // INODE_REF
		return fmt.Sprintf("item type %d ino %d len %d gen0 %d name %s", r.Type, r.ObjectID, r.Len, r.LeafTransid, name)
	case 84, 96: // DIR_ITEM, DIR_INDEX
		return fmt.Sprintf("item type %d dir ino %d len %d gen0 %d gen1 %d type1 %d name %s",
			r.Type, r.ObjectID, r.Len, r.LeafTransid, r.Gen1, r.DirType, name)
	default: // INODE_ITEM, EXTENT_DATA
		return fmt.Sprintf("item type %d ino %d len %d gen0 %d gen1 %d", r.Type, r.ObjectID, r.Len, r.LeafTransid, r.Gen1)
	}
}

// Show implements Printer.
func (t *Text) Show(rep run.ShowReport) {
	for _, f := range rep.Filesystems {
		if f.Available {
			label := f.Label
			if label == "" {
				label = "None"
			}
			t.line("Label: %s UUID: %s", label, f.UUID)
			for _, d := range f.Devices {
				t.line("  Device: %s", d)
			}
		} else {
			t.line("UUID: %s\n  <no device available>", f.UUID)
		}
		for _, v := range f.Volumes {
			suffix := ""
			switch {
			case v.Deleted:
				suffix = " (deleted)"
			case v.ReadOnly:
				suffix = " (frozen)"
			}
			t.line("  Volume %d%s", v.ID, suffix)
			if v.Tracked > 0 {
				t.line("    As of generation %d, tracking %d inodes of size at least %s (%d not yet deduplicated)",
					v.Generation, v.Tracked, Bytes(int64(v.SizeCutoff)), v.Flagged)
			}
			switch {
			case v.Accessible != "":
				t.line("    Accessible at %s", Path(v.Accessible))
			case v.Internal != "":
				t.line("    Internal path %s", Path(v.Internal))
			case v.LastSeen != "":
				t.line("    Last seen at %s", Path(v.LastSeen))
			}
		}
		if f.DeletedHidden > 0 {
			t.line("  Skipped %d deleted volumes", f.DeletedHidden)
		}
		if f.Known {
			t.line("  Tracking %d inodes; deduplicated %s (%s shared, %s freed) in %s",
				f.Tracked, count(int(f.Totals.Files), "file"), Bytes(f.Totals.BytesDeduplicated), Bytes(f.Totals.BytesFreed), count(int(f.Totals.Events), "dedup event"))
		}
	}
}

// History implements Printer: per event a header line and its files
// (source first), then the totals.
func (t *Text) History(h run.History) {
	for _, e := range h.Events {
		t.line("%s  %s  %s × %d: shared %s, freed %s",
			e.Time.Local().Format("2006-01-02 15:04:05"), e.FS.Desc, Bytes(int64(e.Size)), len(e.Files), Bytes(e.BytesShared), Bytes(e.BytesFreed))
		for i, f := range e.Files {
			role := "  shared "
			if i == 0 {
				role = "  source "
			}
			if f.Gone {
				t.line("%s(gone) subvolume %d inode %d", role, f.SubvolID, f.Ino)
			} else {
				t.line("%s%s", role, Path(f.Path))
			}
		}
	}
	t.line("total: %s, %s deduplicated, %s shared, %s freed", count(len(h.Events), "event"), count(h.Files, "file"), Bytes(h.BytesShared), Bytes(h.BytesFreed))
}
