package dedupe

import (
	"context"
	"encoding/binary"

	"github.com/zeebo/xxh3"

	"github.com/bedup/bedup/internal/btrfs"
)

// A partial last sector's checksum also covers the bytes past EOF, which
// are not always zero on disk (measured: a file truncated to 5000 bytes
// keeps its old bytes there). Two identical files can therefore differ in
// that one checksum. Reading every such sector made csum prints cost one
// small random read per file (190k of them on the many-small bench, 24 s
// of a 56 s run), although the full sectors alone tell almost every file
// apart. So a partial sector is first represented by its checksum
// (tailSumTag), and its bytes are read only when another instance of the
// size group has the same full sectors and a different print: then the
// files of that cluster are printed by their tail bytes (tailBytesTag),
// which is what identical files agree on. Two instances whose full
// sectors and tail checksums agree are sent to the kernel unread, like
// whole-sector files: its compare is the proof.
const (
	tailSumTag   = 'k' // then the full sectors' hash and the last sector's checksum
	tailBytesTag = 'b' // then the full sectors' hash and XXH3-64 of the tail's bytes
)

// csumPrint makes the print of a file of size bytes from its sectors'
// checksums (sums, csumSize bytes each, in file order).
func csumPrint(csumType uint16, csumSize int, size uint64, sums []byte) []byte {
	full, tail := sums, []byte(nil)
	tag := byte(csumTag)
	if size%csumBlock != 0 {
		full, tail = sums[:len(sums)-csumSize], sums[len(sums)-csumSize:]
		tag = tailSumTag
	}
	var hdr [12]byte
	binary.LittleEndian.PutUint16(hdr[0:], csumType)
	binary.LittleEndian.PutUint16(hdr[2:], uint16(csumSize))
	binary.LittleEndian.PutUint64(hdr[4:], size)
	h := xxh3.New()
	h.Write(hdr[:])
	h.Write(full)
	head := h.Sum128().Bytes()
	out := append([]byte{tag}, head[:]...)
	return append(out, tail...)
}

// tailBytesPrint turns a tailSumTag print into the tailBytesTag print of
// the same file, given the bytes of its partial last sector.
func tailBytesPrint(print, tail []byte) []byte {
	out := append([]byte{tailBytesTag}, print[1:csumPrintN]...)
	return binary.BigEndian.AppendUint64(out, xxh3.Hash(tail))
}

// tailConflicts returns the instances whose tail bytes must be read: those
// printed by their tail checksum in a cluster (same full sectors) whose
// prints are not all equal. A cluster printed alike needs nothing, and one
// whose members are all printed by their bytes is settled.
func tailConflicts(ins []*instance) []*instance {
	clusters := map[string][]*instance{}
	var heads []string // in first-seen order, so reads are deterministic
	for _, in := range ins {
		if !in.csum || in.hash[0] == csumTag {
			continue
		}
		k := string(in.hash[1:csumPrintN])
		if clusters[k] == nil {
			heads = append(heads, k)
		}
		clusters[k] = append(clusters[k], in)
	}
	var out []*instance
	for _, k := range heads {
		c := clusters[k]
		same := true
		for _, in := range c[1:] {
			if string(in.hash) != string(c[0].hash) {
				same = false
				break
			}
		}
		if same {
			continue
		}
		for _, in := range c {
			if in.hash[0] == tailSumTag {
				out = append(out, in)
			}
		}
	}
	return out
}

// tailPrefetchers is how many goroutines ask for the tails: an ask can
// wait for a free slot in the device's queue, and a tail is one sector, so
// there are more askers than IOThreads readers (measured on mixed: 4 left
// 0.8–2.3 s of waiting for the reads, 16 left 0.6–1.1 s).
const tailPrefetchers = 16

// settleTails reads the partial last sectors tailConflicts names, on
// IOThreads readers, and prints those instances by their bytes. An
// instance none of whose files can be read loses its csum print, and its
// group goes to the read path, which names the file.
func (p *pass) settleTails(ctx context.Context, groups []*group) {
	type job struct {
		in   *instance
		size uint64
		tail []byte
	}
	var jobs []*job
	for _, g := range groups {
		if g.done || !g.csum || g.size%csumBlock == 0 {
			continue
		}
		for _, in := range tailConflicts(g.instances) {
			jobs = append(jobs, &job{in: in, size: g.size})
		}
	}
	if len(jobs) == 0 {
		return
	}
	// The tails lie all over the disk, one sector each: asked for all at
	// once, the device serves them side by side, where IOThreads readers
	// would wait for them a few at a time (mixed: 3.3 s of waiting for
	// 6,900 tails, 0.6 s with the prefetch).
	parallelOn(ctx, tailPrefetchers, len(jobs), func(i int) {
		j := jobs[i]
		if h := j.in.files[0].h; h != nil {
			n := j.size % csumBlock
			btrfs.Prefetch(h, j.size-n, n)
		}
	})
	p.parallel(ctx, len(jobs), func(i int) {
		j := jobs[i]
		n := j.size % csumBlock
		j.tail, _ = p.readTail(j.in, j.size-n, n)
	})
	for _, j := range jobs {
		if j.tail == nil {
			j.in.hash, j.in.csum, j.in.stored = nil, false, false
			continue
		}
		j.in.hash, j.in.stored = tailBytesPrint(j.in.hash, j.tail), false
	}
	for _, g := range groups {
		if g.csum {
			g.csum = allCsum(g)
		}
	}
}
