package dedupe

// HookPoint names a point of a pass where TestHook is called.
type HookPoint string

// The points of a pass where TestHook is called.
const (
	// HookRead: a window's files are examined and read, nothing of it is
	// shared yet (the moment another process may change a file).
	HookRead HookPoint = "read"
	// HookIntents: a window's intents are logged, before its first share.
	HookIntents HookPoint = "intents"
	// HookDedupe: after each FIDEDUPERANGE batch, before its outcome is
	// recorded anywhere.
	HookDedupe HookPoint = "dedupe"
	// HookCommit: after a window's results are committed.
	HookCommit HookPoint = "commit"
)

// TestHook, when not nil, is called at each HookPoint of every pass. It
// exists for fault-injection tests (kill the process, remount the
// filesystem, delete a subvolume at a chosen point) and is nil in bedup
// itself. Calls may come from several goroutines at once.
var TestHook func(HookPoint)

func (p *pass) hook(at HookPoint) {
	if TestHook != nil {
		TestHook(at)
	}
}
