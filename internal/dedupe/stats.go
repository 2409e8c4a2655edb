package dedupe

import "time"

// Stats say what a pass did. Tests read them to prove that nothing was read
// or asked of the kernel when nothing needed it. Under DryRun, FilesShared,
// BytesDeduped and BytesFreed say what a real run would do.
type Stats struct {
	Groups        int // size groups with a flagged member
	AlreadyShared int // groups whose members already shared all data
	FilesSampled  int
	FilesHashed   int
	// FilesCsumPrinted counts the instances told apart by their data
	// checksums (csum prints) instead of reading them; CsumLookups the csum
	// tree walks that fetched them, CsumBytes the checksum bytes fetched.
	FilesCsumPrinted int
	CsumLookups      int
	CsumBytes        int64
	BytesRead        int64 // file data read for samples and hashes
	DedupeCalls      int   // FIDEDUPERANGE ioctls
	FilesShared      int   // destinations that now share a source's extents
	BytesDeduped     int64 // bytes of those destinations
	// BytesFreed is the on-disk size of the extents that lost their last
	// user (a compressed extent counts its compressed size): what
	// "btrfs filesystem df" shows coming back. Extents whose last users
	// are spread over several identical sets may be left out.
	BytesFreed int64
	Dropped    int // tracked inodes that no longer exist
	// Skipped counts the files skipped, by reason: those of Skipped events,
	// and those a Halted event speaks for.
	Skipped map[Reason]int
	// Deferred counts the files kept for the next run: skipped for a
	// reason that can pass (Reason.Transient), or left undone in a size
	// group whose source could not be used. They stay flagged.
	Deferred int
	// Halted is the reason the pass stopped early ("" when it did not),
	// and GroupsLeft how many size groups it left for the next run.
	Halted     Reason
	GroupsLeft int
	// KeptReadOnly counts files of read-only volumes that only serve as
	// sources and would have to be written to share: they are left as
	// they are, which is no skip, and remembered as frozen (not flagged),
	// so that they are examined again only when their size group changes
	// or a run may write into their volume (see plan.go).
	KeptReadOnly int
	// Excluded counts the files Options.Exclude left out, which is no
	// skip. They are no longer flagged: a run without the pattern takes
	// them up only when they change, their size group gains a new or
	// changed file, or after a reset.
	Excluded int
	Elapsed  time.Duration
	// Time spent examining members (FIEMAP), reading them, and sharing,
	// summed over the windows worked on at once (two prepared, two
	// shared): together they can exceed Elapsed.
	ExamineTime, ReadTime, ShareTime time.Duration
}

// Add adds the counts and times of another pass (of another filesystem).
func (s *Stats) Add(o Stats) {
	s.Groups += o.Groups
	s.AlreadyShared += o.AlreadyShared
	s.FilesSampled += o.FilesSampled
	s.FilesHashed += o.FilesHashed
	s.FilesCsumPrinted += o.FilesCsumPrinted
	s.CsumLookups += o.CsumLookups
	s.CsumBytes += o.CsumBytes
	s.BytesRead += o.BytesRead
	s.DedupeCalls += o.DedupeCalls
	s.FilesShared += o.FilesShared
	s.BytesDeduped += o.BytesDeduped
	s.BytesFreed += o.BytesFreed
	s.Dropped += o.Dropped
	s.Deferred += o.Deferred
	s.GroupsLeft += o.GroupsLeft
	if s.Halted == "" {
		s.Halted = o.Halted
	}
	s.KeptReadOnly += o.KeptReadOnly
	s.Excluded += o.Excluded
	s.ExamineTime += o.ExamineTime
	s.ReadTime += o.ReadTime
	s.ShareTime += o.ShareTime
	for r, n := range o.Skipped {
		if s.Skipped == nil {
			s.Skipped = map[Reason]int{}
		}
		s.Skipped[r] += n
	}
}

func (s *Stats) skip(r Reason) {
	if s.Skipped == nil {
		s.Skipped = map[Reason]int{}
	}
	s.Skipped[r]++
}
