package dedupe

import (
	"bytes"
	"encoding/binary"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/store"
)

// examineFile opens one member for its metadata (size, flags, extent
// map), keeping the descriptor while the window's budget allows.
func (p *pass) examineFile(f *file, b *store.Batch) {
	h, st, err := p.openStat(f)
	if err == nil {
		err = p.describe(f, h, &st)
	}
	if p.account(f, h, err, b) {
		h.Close() // not under p.mu: a syscall
	}
}

// account records what examining a file found, and keeps its descriptor
// h while the budget allows. It reports whether h is to be closed.
func (p *pass) account(f *file, h *os.File, err error, b *store.Batch) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case gone(err):
		b.Drop(f.key())
		p.stats.Dropped++
		f.skip = reasonGone
	case err != nil:
		f.skip = readFailure(err)
		p.skipped(f, f.skip, err)
	case f.skip == reasonExcluded:
		p.stats.Excluded++
	case f.skip != "": // changed size, or an active swap file
		p.skipped(f, f.skip, nil)
	}
	if h == nil {
		return false
	}
	if f.skip == "" && !f.inline && p.opened < maxOpen {
		f.h = h
		p.opened++
		return false
	}
	return true
}

// activeSwapFiles lists the swap files in use (/proc/swaps), which the
// kernel refuses to share into.
func activeSwapFiles() map[[2]uint64]bool {
	b, err := os.ReadFile("/proc/swaps")
	if err != nil {
		return nil
	}
	m := map[[2]uint64]bool{}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[1] != "file" {
			continue
		}
		// /proc/swaps escapes spaces in paths as \040.
		name := strings.ReplaceAll(fields[0], "\\040", " ")
		if fi, err := os.Stat(name); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				m[[2]uint64{st.Dev, st.Ino}] = true
			}
		}
	}
	return m
}

// instances sorts a group's examined members into instances: files with
// the same extent print share their data. A group left with fewer than two
// instances needs no read and no ioctl.
func (p *pass) instances(g *group, b *store.Batch) {
	var files []*file
	for _, f := range g.files {
		if f.skip != reasonGone {
			files = append(files, f)
		}
	}
	g.files = files
	byPrint := map[string]*instance{}
	for _, f := range g.files {
		if f.skip != "" || f.inline {
			continue
		}
		key := string(f.print)
		in := byPrint[key]
		if in == nil || f.print == nil {
			in = &instance{print: f.print}
			if f.print != nil {
				byPrint[key] = in
			}
			g.instances = append(g.instances, in)
		}
		in.files = append(in.files, f)
		f.inst = in
		if !in.hasSmp && f.stillHolds {
			switch {
			case csumPrintFits(f.m.Hash, g.size):
				in.hash, in.stored, in.csum = f.m.Hash, true, true
			case bytes.Equal(f.m.Hash, readMark):
				in.noCsum = true
			case len(f.m.Hash) == 24:
				in.hash, in.stored = f.m.Hash, true
				fallthrough
			case len(f.m.Hash) == 8:
				in.sample, in.hasSmp = binary.LittleEndian.Uint64(f.m.Hash[len(f.m.Hash)-8:]), true
			}
		}
	}
	if len(g.instances) < 2 {
		// Several files on one extent map: the members left out (skipped,
		// excluded, inline) do not count.
		if len(g.instances) == 1 && len(g.instances[0].files) > 1 {
			p.stats.AlreadyShared++
			g.alreadyShared = true
		}
		g.done = true
		p.finish(g, b)
	}
}

// describe fills a file's facts from its open descriptor and the status
// the open took.
func (p *pass) describe(f *file, h *os.File, st *unix.Stat_t) error {
	if p.o.Exclude != nil {
		ex, err := p.excluded(f, h)
		if err != nil || ex {
			if ex {
				f.skip = reasonExcluded
			}
			return err
		}
	}
	size := f.size
	if uint64(st.Size) != size {
		f.skip = ReasonChanged
		return nil
	}
	if p.swaps[[2]uint64{st.Dev, st.Ino}] {
		f.skip = ReasonSwapfile // the kernel would answer ETXTBSY
		return nil
	}
	flags, err := btrfs.GetFlags(h)
	if err != nil {
		return err
	}
	f.nocow, f.immut = flags&btrfs.FlagNocow != 0, flags&btrfs.FlagImmutable != 0
	ext, err := btrfs.Fiemap(h)
	if err != nil {
		return err
	}
	f.inline = btrfs.HasInline(ext)
	f.print = Print(ext, size)
	f.csumExt = csumExtents(ext, size, f.nocow)
	f.data = dataRanges(ext, size)
	defer func() { f.stillHolds = p.stillHolds(f) }()
	for _, e := range ext {
		f.unwritten = f.unwritten || e.Flags&btrfs.ExtentUnwritten != 0
		if e.Located() {
			f.located += e.Length
			if e.Shared() {
				f.shared += e.Length
				f.sharedExt = append(f.sharedExt, e)
			}
		}
	}
	return nil
}

// finish records the outcome of a group: flags cleared (unless worth
// another look), hashes and prints kept, files found gone dropped. The
// stored fingerprint of an instance the kernel contradicted (a destination
// it found different from its source) is forgotten and its files stay
// flagged, so the next run reads them again.
func (p *pass) finish(g *group, b *store.Batch) {
	for _, in := range g.instances {
		stored := in.hash
		if stored == nil && in.hasSmp {
			stored = binary.LittleEndian.AppendUint64(nil, in.sample)
		}
		if in.suspect {
			stored = nil
			if in.csum {
				// The kernel found its bytes different from a file with the
				// same csum print: the next run reads it.
				stored = readMark
			}
		}
		for _, f := range in.files {
			if f.skip == reasonGone || !f.m.Flagged && !in.suspect && bytes.Equal(f.m.Hash, stored) && bytes.Equal(f.m.Extents, f.print) {
				continue
			}
			b.SetResult(f.key(), stored, f.print, f.m.Transid, f.keepFlag || in.suspect)
		}
	}
	for _, f := range g.files {
		switch {
		case f.skip == reasonGone:
			b.Drop(f.key())
			p.stats.Dropped++
			continue
		case (f.skip != "" || f.inline) && f.m.Flagged != f.keepFlag:
			b.SetFlag(f.key(), f.keepFlag)
		}
		if f.deferred {
			p.stats.Deferred++
		}
	}
}

// stillHolds reports whether a file's stored fingerprint still describes
// its data: its extent map is the one the fingerprint was taken with and,
// if the file changed since (it is flagged), no data was written into it.
// A copy-on-write file's new data goes to new extents, but the address of
// a freed extent can be handed out again (measured: a file rewritten in
// turns with two contents got its first address back, so its map matched
// a fingerprint of the other content), so an unchanged map proves nothing
// for a flagged file: the generations of its file extent items must all
// predate the fingerprint (Member.HashTransid), and those items must map
// the file as FIEMAP does (they are the committed ones). A flagged NOCOW
// file, or one with unwritten extents, is written in place without new
// items: it is read again (DESIGN.md §4.4). It makes an ioctl for flagged
// files only; call it without p.mu.
func (p *pass) stillHolds(f *file) bool {
	if f.m.Hash == nil || !f.print.Equal(ExtentPrint(f.m.Extents)) {
		return false
	}
	if !f.m.Flagged {
		return true
	}
	if f.nocow || f.unwritten || f.m.HashTransid == 0 {
		return false
	}
	items, err := btrfs.FileExtents(f.vol.V.FS.Top(), f.vol.V.ID, f.m.Ino)
	if err != nil {
		return false
	}
	for _, it := range items {
		if it.Generation > f.m.HashTransid || it.Type != btrfs.FileExtentReg {
			return false
		}
	}
	return itemsPrint(items, f.size).Equal(f.print)
}

// itemsPrint is the ExtentPrint of a file of size bytes computed from its
// file extent items, as Print computes it from FIEMAP's map (a test holds
// the two alike): an item maps its part of a data extent at the extent's
// address plus its offset, or at the extent's start when it is compressed
// (FIEMAP cannot address inside compressed data); holes are left out, and
// an inline item makes the print nil.
func itemsPrint(items []btrfs.FileExtent, size uint64) ExtentPrint {
	var ext []btrfs.Extent
	for _, it := range items {
		switch {
		case it.Type == btrfs.FileExtentInline:
			return nil
		case it.DiskBytenr == 0:
			continue // a hole
		}
		e := btrfs.Extent{Logical: it.FileOffset, Physical: it.DiskBytenr + it.Offset, Length: it.NumBytes}
		if it.Compression != 0 {
			e.Physical = it.DiskBytenr
		}
		if it.Type == btrfs.FileExtentPrealloc {
			e.Flags = btrfs.ExtentUnwritten
		}
		ext = append(ext, e)
	}
	return Print(ext, size)
}
