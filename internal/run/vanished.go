package run

import (
	"context"
	"errors"

	"github.com/bedup/bedup/internal/btrfs"
	"github.com/bedup/bedup/internal/scan"
	"github.com/bedup/bedup/internal/store"
	"github.com/bedup/bedup/internal/volume"
)

// scanVolume scans one volume. A subvolume deleted since discovery is no
// failure: it is reported (NoticeVolumeGone), its tracked files are
// forgotten, and gone is set.
func scanVolume(ctx context.Context, db *store.DB, v *volume.Volume, o scan.Options, rep Reporter) (r scan.Result, gone bool, err error) {
	r, err = scan.Volume(ctx, db, v, o)
	if err == nil || ctx.Err() != nil || !vanished(v) {
		return r, false, err
	}
	if r.VolID != 0 {
		if ferr := db.ResetVolume(ctx, r.VolID); ferr != nil {
			return r, false, errors.Join(err, ferr)
		}
	}
	rep.Notice(Notice{Code: NoticeVolumeGone, Subject: v.Desc, Err: err})
	return r, true, nil
}

// vanished reports whether v's subvolume was deleted: the filesystem's
// root tree no longer lists it as live. When the tree cannot be read, it
// is taken as still there (the error that led here is then reported).
func vanished(v *volume.Volume) bool {
	subs, err := btrfs.ListSubvolumes(v.FS.Top())
	if err != nil {
		return false
	}
	for _, s := range subs {
		if s.ID == v.ID {
			return s.Deleted
		}
	}
	return true
}
