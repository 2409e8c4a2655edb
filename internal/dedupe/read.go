package dedupe

import (
	"encoding/binary"
	"errors"
	"sync"
)

type readJob struct {
	in     *instance
	size   uint64
	sample bool
}

// smallFile is the size up to which one sequential read of the whole file
// (giving the sample and the full hash at once) costs no more than the
// three scattered sample reads.
const smallFile = 64 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, readBuf); return &b }}

// errShortRead is a file that ended before (or went on after) the size it
// had when it was examined: it changed meanwhile.
var errShortRead = errors.New("the file's size changed while it was read")

// read samples or hashes one instance through one of its files (they
// share their data, so any will do). When none can be read, each of them
// is skipped, with the reason of the last failure.
func (p *pass) read(j readJob) {
	in := j.in
	var failure error
	for _, f := range in.files {
		h, err := p.handle(f)
		if err != nil {
			if gone(err) {
				p.mu.Lock()
				f.skip = reasonGone
				p.mu.Unlock()
			} else {
				failure = err
			}
			continue
		}
		if j.sample {
			s, err := Sample(h, j.size)
			release(f, h)
			if err != nil {
				failure = err
				continue
			}
			p.mu.Lock()
			in.sample, in.hasSmp = s, true
			p.stats.FilesSampled++
			p.stats.BytesRead += min(int64(j.size), 3*sampleSize)
			p.mu.Unlock()
			return
		}
		bp := bufPool.Get().(*[]byte)
		sum, smp, n, err := Hash(h, j.size, *bp)
		bufPool.Put(bp)
		release(f, h)
		p.mu.Lock()
		p.stats.BytesRead += n
		p.mu.Unlock()
		if err == nil && uint64(n) != j.size {
			err = errShortRead
		}
		if err != nil {
			failure = err
			continue
		}
		hash := make([]byte, 24)
		copy(hash, sum[:])
		binary.LittleEndian.PutUint64(hash[16:], smp)
		p.mu.Lock()
		in.hash, in.rep, in.stored = hash, f, false
		in.sample, in.hasSmp = smp, true
		p.stats.FilesHashed++
		p.mu.Unlock()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	reason := readFailure(failure)
	if errors.Is(failure, errShortRead) {
		reason = ReasonChanged
	}
	for _, f := range in.files {
		if f.skip == "" {
			f.skip = reason
			p.skipped(f, reason, failure)
		}
	}
}
