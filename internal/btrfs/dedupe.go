package btrfs

import (
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dedupeRangeHeader mirrors struct file_dedupe_range (24 bytes).
type dedupeRangeHeader struct {
	SrcOffset uint64
	SrcLength uint64
	DestCount uint16
	_         uint16
	_         uint32
}

// dedupeRangeInfo mirrors struct file_dedupe_range_info (32 bytes).
type dedupeRangeInfo struct {
	DestFD       int64
	DestOffset   uint64
	BytesDeduped uint64
	Status       int32
	_            uint32
}

// Kernel limits of FIDEDUPERANGE, measured on Linux 6.18 (DESIGN.md §5).
const (
	// MaxDedupeDests is how many destinations one call takes: the argument
	// must fit one page (24 + 32·n ≤ 4096); 128 fails the call with ENOMEM.
	MaxDedupeDests = 127
	// DedupeChunk is the most bytes bedup asks to share in one call. The
	// kernel compares the whole range before sharing any of it, so a file
	// that fits one chunk is shared all-or-nothing; larger files are shared
	// chunk by chunk (identical chunks stay shared when a later one
	// differs, which loses nothing).
	DedupeChunk = 256 << 20
)

// DedupeStatus is the outcome of FIDEDUPERANGE for one destination.
type DedupeStatus int

const (
	// DedupeSame: the whole range now shares the source's extents.
	DedupeSame DedupeStatus = iota
	// DedupeDiffers: the data differed; the kernel shared nothing of the
	// differing chunk.
	DedupeDiffers
	// DedupeFailed: the kernel refused the destination; Err says why.
	DedupeFailed
)

func (s DedupeStatus) String() string {
	switch s {
	case DedupeSame:
		return "same"
	case DedupeDiffers:
		return "differs"
	default:
		return "failed"
	}
}

// DedupeDest is one destination of Dedupe: a file opened on the same
// filesystem (read-only is enough for root) and where its range starts.
type DedupeDest struct {
	File   *os.File
	Offset uint64
}

// DedupeResult reports what happened to one destination.
type DedupeResult struct {
	Status DedupeStatus
	// Bytes counts the bytes of the range the kernel reported SAME for. It
	// is computed from the lengths bedup asked for, not from the kernel's
	// bytes_deduped, which echoes the request even when it rounded down.
	Bytes uint64
	// Err is the errno of a DedupeFailed destination (EINVAL for a
	// NOCOW/datasum mismatch, EPERM for an immutable file, ETXTBSY for an
	// active swapfile, EXDEV for another filesystem, ...).
	Err error
	// Calls counts the ioctls that included this destination.
	Calls int
}

// Dedupe asks the kernel to share length bytes of src starting at srcOffset
// into every destination, with FIDEDUPERANGE: the kernel locks both ranges,
// compares them and shares only identical data, atomically against writers.
// The range must end at the source's EOF or on a block boundary (a range
// ending mid-block elsewhere is silently cut short by the kernel). The work
// is split into calls of at most MaxDedupeDests destinations and DedupeChunk
// bytes; a destination that differs or fails drops out of later chunks.
// Dedupe returns one result per destination, in order. Length 0 shares
// nothing and makes no call. Each chunk is prefetched into the page cache
// (the kernel's compare reads without readahead) while the previous one is
// compared.
func Dedupe(src *os.File, srcOffset, length uint64, dests []DedupeDest) []DedupeResult {
	return dedupe(src, srcOffset, length, dests, DedupeChunk)
}

// DedupeRanges is Dedupe of each range [start, end) of ranges, at the same
// offsets in the source and in every destination (their Offset is added):
// for files that hold data only there and holes elsewhere, alike. A hole
// needs no sharing (there is nothing to free), but the kernel's compare
// reads it as zeros, page by page: 512 MiB of sparse file with 8 MiB of
// data took 0.5 s of CPU, against 10 ms for its data alone. A destination
// that differs or fails in one range is not asked the later ones; its
// result adds up the ranges it was asked.
func DedupeRanges(src *os.File, ranges [][2]uint64, dests []DedupeDest) []DedupeResult {
	res := make([]DedupeResult, len(dests))
	at := make([]DedupeDest, 0, len(dests))
	which := make([]int, 0, len(dests))
	for _, r := range ranges {
		at, which = at[:0], which[:0]
		for i, d := range dests {
			if res[i].Status == DedupeSame {
				at = append(at, DedupeDest{File: d.File, Offset: d.Offset + r[0]})
				which = append(which, i)
			}
		}
		if len(at) == 0 {
			break
		}
		for j, rr := range Dedupe(src, r[0], r[1]-r[0], at) {
			out := &res[which[j]]
			out.Status, out.Err = rr.Status, rr.Err
			out.Bytes += rr.Bytes
			out.Calls += rr.Calls
		}
	}
	return res
}

func dedupe(src *os.File, srcOffset, length uint64, dests []DedupeDest, chunk uint64) []DedupeResult {
	res := make([]DedupeResult, len(dests))
	if length == 0 || len(dests) == 0 {
		return res
	}
	// The argument lives on the stack: a size known to the compiler keeps
	// it there (a dedup pass makes a call per set, 50,000 on many small
	// files, and allocated 4 KiB for each).
	const hdrSize = unsafe.Sizeof(dedupeRangeHeader{})
	var mem [(hdrSize + MaxDedupeDests*unsafe.Sizeof(dedupeRangeInfo{})) / 8]uint64
	hdr := (*dedupeRangeHeader)(unsafe.Pointer(&mem[0]))
	infos := unsafe.Slice((*dedupeRangeInfo)(unsafe.Add(unsafe.Pointer(&mem[0]), hdrSize)), MaxDedupeDests)

	prefetch := func(off, n uint64) {
		Prefetch(src, srcOffset+off, n)
		for i := range dests {
			if res[i].Status == DedupeSame {
				Prefetch(dests[i].File, dests[i].Offset+off, n)
			}
		}
	}
	prefetch(0, min(length, chunk))
	active := make([]int, 0, len(dests))
	for done := uint64(0); done < length; {
		n := min(length-done, chunk)
		if done+n < length {
			// The next chunk streams in while the kernel compares this one.
			prefetch(done+n, min(length-done-n, chunk))
		}
		active = active[:0]
		for i := range dests {
			if res[i].Status == DedupeSame {
				active = append(active, i)
			}
		}
		if len(active) == 0 {
			break
		}
		for len(active) > 0 {
			batch := active[:min(len(active), MaxDedupeDests)]
			active = active[len(batch):]
			*hdr = dedupeRangeHeader{SrcOffset: srcOffset + done, SrcLength: n, DestCount: uint16(len(batch))}
			for j, i := range batch {
				infos[j] = dedupeRangeInfo{DestFD: int64(dests[i].File.Fd()), DestOffset: dests[i].Offset + done}
			}
			err := fileIoctl(src, iocDedupeRange, unsafe.Pointer(&mem[0]))
			runtime.KeepAlive(dests) // every destination fd stays open until here
			for j, i := range batch {
				r := &res[i]
				r.Calls++
				switch st := infos[j].Status; {
				case err != nil:
					r.Status, r.Err = DedupeFailed, fmt.Errorf("fideduperange: %w", err)
				case st == 0:
					r.Bytes += n
				case st == 1:
					r.Status = DedupeDiffers
				case st < 0:
					r.Status, r.Err = DedupeFailed, fmt.Errorf("fideduperange: %w", unix.Errno(-st))
				default:
					r.Status, r.Err = DedupeFailed, fmt.Errorf("fideduperange: unknown status %d", st)
				}
			}
		}
		done += n
	}
	return res
}
