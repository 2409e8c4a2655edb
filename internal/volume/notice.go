package volume

// NoticeKind says what a discovery notice is about.
type NoticeKind int

const (
	// NoticeNotReadWrite: a filesystem (Subject) was skipped because no
	// mount shows it read-write.
	NoticeNotReadWrite NoticeKind = iota
	// NoticeSourcesOnly: Count read-only subvolumes of a filesystem or
	// below a path (Subject) only serve as sources.
	NoticeSourcesOnly
	// NoticeNotTopLevel: a path (Subject) names a subvolume that is not
	// the top level, so only it and the subvolumes below it are included.
	NoticeNotTopLevel
)

// Notice is something discovery skipped or limited, worth telling the
// user; printers choose the words.
type Notice struct {
	Kind    NoticeKind
	Subject string
	Count   int
}
