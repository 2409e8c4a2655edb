package cli

import (
	"fmt"

	"github.com/bedup/bedup/internal/dedupe"
)

// reasonText is the words printed for each skip reason code.
var reasonText = map[dedupe.Reason]string{
	dedupe.ReasonChanged:       "changed while being deduplicated (kept for the next run)",
	dedupe.ReasonUnreadable:    "cannot be read",
	dedupe.ReasonNocowAlone:    "NOCOW flag differs from its identical copies (the kernel refuses to share between them)",
	dedupe.ReasonNocowMismatch: "NOCOW flag differs from the source (the kernel refuses to share between them)",
	dedupe.ReasonImmutable:     "immutable file",
	dedupe.ReasonSwapfile:      "active swap file",
	dedupe.ReasonBusy:          "busy (a btrfs send is using its subvolume), retry later",
	dedupe.ReasonReadOnlyFS:    "on a read-only mount or subvolume",
	dedupe.ReasonOtherFS:       "on another filesystem",
	dedupe.ReasonIO:            "I/O error",
	dedupe.ReasonRefused:       "the kernel refused to share it",
}

// describeReason gives the printed words of a reason code (the code
// itself when it has none).
func describeReason(r dedupe.Reason) string {
	if s, ok := reasonText[r]; ok {
		return s
	}
	return string(r)
}

// skippedLine is the notice for a Skipped event; desc names the file's
// volume when its path is unknown.
func skippedLine(e dedupe.Skipped, desc func(uint64) string) string {
	name := e.File.Path
	if name == "" {
		name = fmt.Sprintf("%s/<inode %d>", desc(e.File.VolumeID), e.File.Ino)
	}
	msg := fmt.Sprintf("%s: %s", name, describeReason(e.Reason))
	if e.Err != nil {
		msg += fmt.Sprintf(" (%v)", e.Err)
	}
	return msg
}
