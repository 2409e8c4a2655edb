package partial

import (
	"fmt"
	"io"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/dedupe"
)

// byteLen is the length in bytes of blocks [d, d+n) of a file of size
// bytes: the last block may be partial.
func byteLen(d, n, size uint64) uint64 { return min((d+n)*BlockSize, size) - d*BlockSize }

// share asks the kernel to share the planned runs, longest first. The
// kernel compares each run before sharing it: a run whose bytes changed
// (a writer got there first) is left alone, and a refusal for the whole
// file (immutable, a swap file, a read-only mount) stops the file.
func (p *pass) share(w *work) {
	size := w.d.m.Size
	for _, m := range w.plan.shares {
		src := w.srcs[m.src]
		n := byteLen(m.d, m.n, size)
		res := btrfs.Dedupe(src.h, m.s*BlockSize, n, []btrfs.DedupeDest{{File: w.h, Offset: m.d * BlockSize}})[0]
		p.stats.DedupeCalls += res.Calls
		switch res.Status {
		case btrfs.DedupeSame:
			w.shared = append(w.shared, m)
			w.layout = place(w.layout, m.d, m.n, src.layout, m.s)
		case btrfs.DedupeDiffers:
			w.changed = true
			w.lost = w.lost || res.Bytes > 0 // shared in part: no prediction holds
		default:
			if stop := p.refused(w, res.Err); stop {
				return
			}
		}
	}
}

// refused reports a refusal of the kernel and whether it concerns the
// whole file.
func (p *pass) refused(w *work, err error) bool {
	r := dedupeReason(err)
	if r == dedupe.ReasonRefused || r == dedupe.ReasonIO || r == dedupe.ReasonBusy {
		return false // this run only; the next may go through
	}
	p.skipped(w.d, r, err)
	w.plan.rewrites = nil
	return true
}

// rewrite frees the planned extents that sharing left in use by some
// blocks (the bookends): the blocks of the destination still in such an
// extent are copied, as they are now, to a temporary file of the same
// storage class in the destination's subvolume and shared back into the
// destination with FIDEDUPERANGE. The destination is never written: the
// kernel compares first, so a block a writer changed meanwhile is left
// alone. Extents that a failed share left too much in use are skipped by
// the same rule as in planning.
func (p *pass) rewrite(w *work) {
	if p.o.RewriteRatio == 0 || w.d.vol.V.ReadOnly || len(w.plan.extents) == 0 {
		return
	}
	btrfs.Fiemap(w.h) // flushes a writer's data, so that the items show it
	now, err := btrfs.FileExtents(p.top, w.d.vol.V.ID, w.d.m.Ino)
	if err != nil {
		return
	}
	byExtent := map[uint64]*extentUse{}
	for _, u := range uses(itemsOf(now)) {
		byExtent[u.bytenr] = u
	}
	var ranges [][2]uint64
	for _, u := range w.plan.extents {
		if left := byExtent[u.bytenr]; left != nil && u.rewriteCost(left.blocks())*p.o.RewriteRatio <= u.disk {
			ranges = append(ranges, left.refs...)
		}
	}
	if len(ranges) == 0 {
		return
	}
	tmp, err := btrfs.OpenTmpfileLike(w.d.vol.V.Dir, w.h)
	if err != nil {
		p.skipped(w.d, dedupe.ReasonRefused, err)
		return
	}
	w.tmp = tmp
	ranges = mergeRanges(ranges)
	if err := p.copyBlocks(w, ranges); err != nil {
		p.skipped(w.d, dedupe.ReasonUnreadable, err)
		return
	}
	p.shareBack(w, ranges)
}

// copyBlocks copies blocks of the destination to the same offsets of the
// temporary file.
func (p *pass) copyBlocks(w *work, ranges [][2]uint64) error {
	buf := make([]byte, readChunk)
	for _, r := range ranges {
		off, end := r[0]*BlockSize, r[0]*BlockSize+byteLen(r[0], r[1]-r[0], w.d.m.Size)
		for off < end {
			n, err := w.h.ReadAt(buf[:min(uint64(len(buf)), end-off)], int64(off))
			p.stats.BytesRead += int64(n)
			if n == 0 && err != nil {
				if err == io.EOF {
					return fmt.Errorf("read bookends: file shrank")
				}
				return fmt.Errorf("read bookends: %w", err)
			}
			if _, err := w.tmp.WriteAt(buf[:n], int64(off)); err != nil {
				return fmt.Errorf("write bookends to temporary file: %w", err)
			}
			off += uint64(n)
		}
	}
	return nil
}

// shareBack shares the temporary file's copies into the destination and
// learns where they live.
func (p *pass) shareBack(w *work, ranges [][2]uint64) {
	var done [][2]uint64
	for _, r := range ranges {
		n := byteLen(r[0], r[1]-r[0], w.d.m.Size)
		res := btrfs.Dedupe(w.tmp, r[0]*BlockSize, n, []btrfs.DedupeDest{{File: w.h, Offset: r[0] * BlockSize}})[0]
		p.stats.DedupeCalls += res.Calls
		switch res.Status {
		case btrfs.DedupeSame:
			done = append(done, r)
		case btrfs.DedupeDiffers:
			w.changed = true
			w.lost = w.lost || res.Bytes > 0
		default:
			if p.refused(w, res.Err) {
				return
			}
		}
	}
	if len(done) == 0 {
		return
	}
	st, err := btrfs.Fstat(w.tmp)
	var items []btrfs.FileExtent
	if err == nil {
		items, err = btrfs.FileExtents(p.top, w.d.vol.V.ID, st.Ino)
	}
	if err != nil {
		w.lost = true // the rewrite happened; where it lives is unknown
	}
	tmpItems := itemsOf(items)
	w.tmpExt = map[uint64]uint64{}
	for _, it := range tmpItems {
		w.tmpExt[it.bytenr] = it.disk
	}
	tmpLayout := layoutOf(tmpItems)
	for _, r := range done {
		w.rewritten = append(w.rewritten, r)
		w.layout = place(w.layout, r[0], r[1]-r[0], tmpLayout, r[0])
	}
}

// dedupeReason maps a refusal of FIDEDUPERANGE to the whole-file pass's
// skip reasons (DESIGN.md §5). Unlike that pass, which halts on a full
// filesystem, this one calls it "refused": the file's other shares are
// still tried.
func dedupeReason(err error) dedupe.Reason {
	switch btrfs.Classify(err) {
	case btrfs.FailImmutable:
		return dedupe.ReasonImmutable
	case btrfs.FailSwapFile:
		return dedupe.ReasonSwapfile
	case btrfs.FailBusy:
		return dedupe.ReasonBusy
	case btrfs.FailReadOnly:
		return dedupe.ReasonReadOnlyFS
	case btrfs.FailOtherFS:
		return dedupe.ReasonOtherFS
	case btrfs.FailIO:
		return dedupe.ReasonIO
	}
	return dedupe.ReasonRefused
}
