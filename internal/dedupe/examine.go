package dedupe

import (
	"bytes"
	"encoding/binary"
	"os"
	"strings"
	"syscall"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/store"
)

// examineFile opens one member for its metadata (size, flags, extent
// map), keeping the descriptor while the window's budget allows.
func (p *pass) examineFile(f *file, b *store.Batch) {
	h, err := p.open(f)
	p.mu.Lock()
	defer p.mu.Unlock()
	if gone(err) {
		b.Drop(f.m.VolID, f.m.Ino)
		p.stats.Dropped++
		f.skip = reasonGone
		return
	}
	if err != nil {
		f.skip, f.keepFlag = ReasonUnreadable, true
		p.skipped(f, ReasonUnreadable, err)
		return
	}
	p.mu.Unlock()
	err = p.describe(f, h)
	p.mu.Lock()
	if err != nil {
		f.skip, f.keepFlag = ReasonUnreadable, true
		p.skipped(f, ReasonUnreadable, err)
	}
	if f.skip == ReasonSwapfile {
		p.skipped(f, ReasonSwapfile, nil)
	}
	if f.skip == reasonExcluded {
		p.stats.Excluded++
	}
	if f.skip == "" && !f.inline && p.opened < maxOpen {
		f.h = h
		p.opened++
	} else {
		h.Close()
	}
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
		// A fingerprint stored with the same extent map still holds.
		if !in.hasSmp && f.print.Equal(ExtentPrint(f.m.Extents)) {
			switch len(f.m.Hash) {
			case 24:
				in.hash = f.m.Hash
				fallthrough
			case 8:
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

// describe fills a file's facts from its open descriptor.
func (p *pass) describe(f *file, h *os.File) error {
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
	st, err := btrfs.Fstat(h)
	if err != nil {
		return err
	}
	if uint64(st.Size) != size {
		f.skip, f.keepFlag = ReasonChanged, true
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
	for _, e := range ext {
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

// finish records the outcome of a group whose files were not shared:
// flags cleared (unless worth retrying), hashes and prints kept.
func (p *pass) finish(g *group, b *store.Batch) {
	for _, in := range g.instances {
		stored := in.hash
		if stored == nil && in.hasSmp {
			stored = binary.LittleEndian.AppendUint64(nil, in.sample)
		}
		for _, f := range in.files {
			if !f.m.Flagged && bytes.Equal(f.m.Hash, stored) && bytes.Equal(f.m.Extents, f.print) {
				continue
			}
			b.SetResult(f.m.VolID, f.m.Ino, stored, f.print, f.keepFlag)
		}
	}
	for _, f := range g.files {
		if (f.skip != "" || f.inline) && f.m.Flagged != f.keepFlag {
			b.SetFlag(f.m.VolID, f.m.Ino, f.keepFlag)
		}
	}
}
