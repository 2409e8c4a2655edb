package dedupe

// TEMPORARY: the API helper-1 is building on branch wt-dedupe; deleted at merge.

// Event is what a pass reports.
type Event interface{ isEvent() }

// FileRef names a file.
type FileRef struct {
	VolumeID uint64
	Ino      uint64
	Path     string
}

// FileSkipped is a file skipped.
type FileSkipped struct {
	File   FileRef
	Reason Reason
	Err    error
}

// SetShared is a set shared.
type SetShared struct {
	Size                    uint64
	Source                  FileRef
	Dests                   []FileRef
	BytesShared, BytesFreed int64
	DryRun                  bool
}

// GroupDone is a group examined.
type GroupDone struct {
	Size          uint64
	Members       int
	AlreadyShared bool
	Sets          int
}

func (FileSkipped) isEvent() {}
func (SetShared) isEvent()   {}
func (GroupDone) isEvent()   {}
func (Progress) isEvent()    {}
