package btrfs

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"sort"
	"unsafe"
)

// ioctlTimespec mirrors struct btrfs_ioctl_timespec (16 bytes with padding).
type ioctlTimespec struct {
	Sec  uint64
	Nsec uint32
	_    uint32
}

// subvolInfoArgs mirrors struct btrfs_ioctl_get_subvol_info_args (504 bytes).
type subvolInfoArgs struct {
	TreeID       uint64
	Name         [256]byte
	ParentID     uint64
	DirID        uint64
	Generation   uint64
	Flags        uint64
	UUID         [16]byte
	ParentUUID   [16]byte
	ReceivedUUID [16]byte
	Ctransid     uint64
	Otransid     uint64
	Stransid     uint64
	Rtransid     uint64
	Ctime        ioctlTimespec
	Otime        ioctlTimespec
	Stime        ioctlTimespec
	Rtime        ioctlTimespec
	_            [8]uint64
}

// SubvolInfo is what BTRFS_IOC_GET_SUBVOL_INFO says about the subvolume a
// file is in. It needs no privilege.
type SubvolInfo struct {
	ID         uint64
	Name       string // name of the subvolume's link in its parent ("" for 5)
	ParentID   uint64
	DirID      uint64 // directory of the parent that holds the link
	Generation uint64 // the subvolume's own last committed generation
	ReadOnly   bool
	UUID       [16]byte
	ParentUUID [16]byte
	Ctransid   uint64
	Otransid   uint64
}

// GetSubvolInfo asks the kernel about the subvolume f is in.
func GetSubvolInfo(f *os.File) (SubvolInfo, error) {
	args := &subvolInfoArgs{}
	if err := fileIoctl(f, iocGetSubvolInfo, unsafe.Pointer(args)); err != nil {
		return SubvolInfo{}, fmt.Errorf("get subvolume info: %w", err)
	}
	name := args.Name[:]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	return SubvolInfo{
		ID:         args.TreeID,
		Name:       string(name),
		ParentID:   args.ParentID,
		DirID:      args.DirID,
		Generation: args.Generation,
		ReadOnly:   args.Flags&RootSubvolRdonly != 0,
		UUID:       args.UUID,
		ParentUUID: args.ParentUUID,
		Ctransid:   args.Ctransid,
		Otransid:   args.Otransid,
	}, nil
}

// Subvolume is one entry of the root tree.
type Subvolume struct {
	ID         uint64
	ParentID   uint64 // 0 for the top level and for deleted subvolumes
	Path       string // from the top level, without a leading slash ("" for 5)
	ReadOnly   bool
	Generation uint64
	UUID       [16]byte
	// Deleted is set for a subvolume that has a root item but no link in
	// any parent: it is being deleted (or is an orphan) and has no path.
	Deleted bool
}

// ListSubvolumes walks the root tree of the filesystem f is on and returns
// every subvolume (the top level, id 5, first; then by id) with its path
// from the top level. Parents may have higher ids than their children
// (subvolumes moved under newer ones); paths are resolved in any order, and
// a link cycle or a missing parent marks the subvolume Deleted instead of
// looping. Needs CAP_SYS_ADMIN.
func ListSubvolumes(f *os.File) ([]Subvolume, error) {
	type backref struct {
		parent, dirid uint64
		name          string
	}
	byID := map[uint64]*Subvolume{}
	refs := map[uint64]backref{}
	s := NewSearch(f, SearchRange{
		TreeID: RootTreeObjectID,
		Min:    Key{ObjectID: FSTreeObjectID, Type: RootItemKey},
		Max:    Key{ObjectID: LastFreeObjectID, Type: RootBackrefKey, Offset: ^uint64(0)},
	}, 0)
	for s.Next() {
		it := s.Item()
		id := it.Key.ObjectID
		if id != FSTreeObjectID && id < FirstFreeObjectID {
			continue // internal trees (extent, chunk, csum, ...)
		}
		switch it.Key.Type {
		case RootItemKey:
			ri, err := DecodeRootItem(it.Data)
			if err != nil {
				return nil, fmt.Errorf("root tree: subvolume %d: %w", id, err)
			}
			sv := byID[id]
			if sv == nil {
				sv = &Subvolume{ID: id}
				byID[id] = sv
			}
			// Several root items can exist for one id while a snapshot is
			// being created; the newest generation wins.
			if ri.Generation >= sv.Generation {
				sv.Generation, sv.ReadOnly, sv.UUID = ri.Generation, ri.ReadOnly(), ri.UUID
			}
		case RootBackrefKey:
			rr, err := DecodeRootRef(it.Data)
			if err != nil {
				return nil, fmt.Errorf("root tree: backref of %d: %w", id, err)
			}
			refs[id] = backref{parent: it.Key.Offset, dirid: rr.DirID, name: string(rr.Name)}
		}
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("root tree: %w", err)
	}

	// Resolve paths depth first with memoisation; "visiting" breaks cycles.
	const (
		unseen = iota
		visiting
		done
	)
	state := map[uint64]int{}
	var resolve func(id uint64) (string, bool, error)
	resolve = func(id uint64) (string, bool, error) {
		sv := byID[id]
		if id == FSTreeObjectID {
			return "", true, nil
		}
		if sv == nil {
			return "", false, nil
		}
		switch state[id] {
		case done:
			return sv.Path, !sv.Deleted, nil
		case visiting:
			return "", false, nil
		}
		state[id] = visiting
		defer func() { state[id] = done }()
		ref, ok := refs[id]
		if !ok {
			sv.Deleted = true
			return "", false, nil
		}
		parentPath, ok, err := resolve(ref.parent)
		if err != nil || !ok {
			sv.Deleted = true
			return "", false, err
		}
		dir, _, err := InoLookup(f, ref.parent, ref.dirid)
		if err != nil {
			return "", false, fmt.Errorf("root tree: path of subvolume %d: %w", id, err)
		}
		sv.ParentID = ref.parent
		sv.Path = path.Join(parentPath, dir, ref.name)
		return sv.Path, true, nil
	}
	out := make([]Subvolume, 0, len(byID))
	for id := range byID {
		if _, _, err := resolve(id); err != nil {
			return nil, err
		}
		out = append(out, *byID[id])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
