package btrfs

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// searchKey mirrors struct btrfs_ioctl_search_key (104 bytes).
type searchKey struct {
	TreeID      uint64
	MinObjectID uint64
	MaxObjectID uint64
	MinOffset   uint64
	MaxOffset   uint64
	MinTransid  uint64
	MaxTransid  uint64
	MinType     uint32
	MaxType     uint32
	NrItems     uint32
	_           uint32
	_           [4]uint64
}

// searchArgsV2 mirrors the fixed part of struct btrfs_ioctl_search_args_v2.
type searchArgsV2 struct {
	Key     searchKey
	BufSize uint64
}

// searchHeaderSize is sizeof(struct btrfs_ioctl_search_header).
const searchHeaderSize = 32

// Buffer sizes for TREE_SEARCH_V2: 64 KiB–1 MiB was measured as the sweet
// spot; the kernel refuses buffers above 16 MiB.
const (
	DefaultSearchBuf = 256 << 10
	maxSearchBuf     = 16 << 20
)

// SearchRange is the key range of a tree search. Keys are compared as the
// tuple (objectid, type, offset), so the type bounds do not filter on their
// own: callers check Item.Key.Type. MinTransid selects whole leaves written
// in or after that transaction.
type SearchRange struct {
	TreeID     uint64 // 0 = the tree of the subvolume the fd is in
	Min, Max   Key
	MinTransid uint64
	MaxTransid uint64 // 0 means no upper bound
}

// FullRange returns the search range covering every key of tree treeID.
func FullRange(treeID uint64) SearchRange {
	return SearchRange{
		TreeID: treeID,
		Max:    Key{ObjectID: ^uint64(0), Type: 0xff, Offset: ^uint64(0)},
	}
}

// Item is one b-tree item returned by a search. Data aliases the search
// buffer and is valid only until the next call to Next.
type Item struct {
	Transid uint64 // transid of the leaf holding the item
	Key     Key
	Data    []byte
}

// Search walks the items of a key range with BTRFS_IOC_TREE_SEARCH_V2, one
// buffer-full per ioctl. Use it as
//
//	s := btrfs.NewSearch(f, r, 0)
//	for s.Next() { item := s.Item(); ... }
//	if err := s.Err(); err != nil { ... }
type Search struct {
	f     *os.File
	r     SearchRange
	cur   Key // next key to ask for
	mem   []uint64
	buf   []byte // the item area of mem
	items []byte // undecoded rest of the last answer
	left  uint32 // items left in items
	item  Item
	done  bool
	err   error
	// Calls counts the ioctls made, for tests and benchmarks.
	Calls int
}

// NewSearch prepares a search of r on f (any file or directory of the
// filesystem; with TreeID 0 the subvolume f lives in). bufSize 0 means
// DefaultSearchBuf.
func NewSearch(f *os.File, r SearchRange, bufSize int) *Search {
	if bufSize <= 0 {
		bufSize = DefaultSearchBuf
	}
	if r.MaxTransid == 0 {
		r.MaxTransid = ^uint64(0)
	}
	s := &Search{f: f, r: r, cur: r.Min}
	s.alloc(bufSize)
	return s
}

func (s *Search) alloc(bufSize int) {
	hdr := int(unsafe.Sizeof(searchArgsV2{}))
	n := (hdr + bufSize + 7) / 8
	s.mem = nil
	if pool := searchPool(n); pool != nil {
		if m, ok := pool.Get().(*[]uint64); ok {
			s.mem = *m
		}
	}
	if s.mem == nil {
		s.mem = make([]uint64, n)
	}
	all := unsafe.Slice((*byte)(unsafe.Pointer(&s.mem[0])), len(s.mem)*8)
	s.buf = all[hdr:]
}

// searchMem keeps the buffers of finished point lookups (one inode's
// items, one run of checksums) for the next one, by buffer size: a pass
// makes one or more per file, and allocating and clearing 4-64 KiB each
// time cost more than the lookups' own work on many small files.
var searchMem sync.Map // words → *sync.Pool of *[]uint64

// searchPool returns the pool of buffers of n words, for the sizes point
// lookups use (64 KiB and less).
func searchPool(n int) *sync.Pool {
	if n*8 > csumBuf+int(unsafe.Sizeof(searchArgsV2{})) {
		return nil
	}
	p, ok := searchMem.Load(n)
	if !ok {
		p, _ = searchMem.LoadOrStore(n, &sync.Pool{}) // a new Pool only when missing
	}
	return p.(*sync.Pool)
}

// free gives the buffer back for reuse; the search and every Item it
// returned must not be used after.
func (s *Search) free() {
	if s.mem != nil {
		if pool := searchPool(len(s.mem)); pool != nil {
			m := s.mem
			pool.Put(&m)
		}
	}
	s.mem, s.buf, s.items = nil, nil, nil
}

// Next advances to the next item, fetching a new buffer-full from the kernel
// when needed. It returns false at the end of the range or on error.
func (s *Search) Next() bool {
	for s.left == 0 {
		if s.done || s.err != nil {
			return false
		}
		s.fetch()
	}
	it, rest, err := decodeSearchItem(s.items)
	if err != nil {
		s.err = fmt.Errorf("tree search: %w", err)
		return false
	}
	s.item, s.items = it, rest
	s.left--
	if s.left == 0 {
		s.advancePast(s.item.Key)
	}
	return true
}

// Item returns the current item.
func (s *Search) Item() Item { return s.item }

// Err returns the error that ended the search, if any.
func (s *Search) Err() error { return s.err }

func (s *Search) fetch() {
	for {
		args := (*searchArgsV2)(unsafe.Pointer(&s.mem[0]))
		*args = searchArgsV2{
			Key: searchKey{
				TreeID:      s.r.TreeID,
				MinObjectID: s.cur.ObjectID,
				MaxObjectID: s.r.Max.ObjectID,
				MinOffset:   s.cur.Offset,
				MaxOffset:   s.r.Max.Offset,
				MinTransid:  s.r.MinTransid,
				MaxTransid:  s.r.MaxTransid,
				MinType:     uint32(s.cur.Type),
				MaxType:     uint32(s.r.Max.Type),
				NrItems:     ^uint32(0),
			},
			BufSize: uint64(len(s.buf)),
		}
		s.Calls++
		err := fileIoctl(s.f, iocTreeSearchV2, unsafe.Pointer(&s.mem[0]))
		if errors.Is(err, unix.EOVERFLOW) && len(s.buf) < maxSearchBuf {
			// One item did not fit; the kernel wrote the size it needs.
			need := int(args.BufSize)
			if need <= len(s.buf) {
				need = 2 * len(s.buf)
			}
			s.alloc(min(need, maxSearchBuf))
			continue
		}
		if err != nil {
			s.err = fmt.Errorf("tree search (tree %d): %w", s.r.TreeID, err)
			return
		}
		s.left = args.Key.NrItems
		s.items = s.buf
		if s.left == 0 {
			s.done = true
		}
		return
	}
}

// advancePast moves the cursor to the key right after k, or ends the search
// when k is the last key of the range.
func (s *Search) advancePast(k Key) {
	if keyLess(s.r.Max, k) || k == s.r.Max {
		s.done = true
		return
	}
	switch {
	case k.Offset < ^uint64(0):
		k.Offset++
	case k.Type < 0xff:
		k.Type++
		k.Offset = 0
	case k.ObjectID < ^uint64(0):
		k.ObjectID++
		k.Type, k.Offset = 0, 0
	default:
		s.done = true
		return
	}
	s.cur = k
}

// keyLess orders keys the way the b-tree does.
func keyLess(a, b Key) bool {
	if a.ObjectID != b.ObjectID {
		return a.ObjectID < b.ObjectID
	}
	if a.Type != b.Type {
		return a.Type < b.Type
	}
	return a.Offset < b.Offset
}

// decodeSearchItem splits one struct btrfs_ioctl_search_header and its item
// payload off the front of b.
func decodeSearchItem(b []byte) (Item, []byte, error) {
	if len(b) < searchHeaderSize {
		return Item{}, nil, errShort("search header", len(b), searchHeaderSize)
	}
	n := int(le32(b, 28))
	if len(b)-searchHeaderSize < n {
		return Item{}, nil, errShort("search item", len(b)-searchHeaderSize, n)
	}
	it := Item{
		Transid: le64(b, 0),
		Key:     Key{ObjectID: le64(b, 8), Offset: le64(b, 16), Type: uint8(le32(b, 24))},
		Data:    b[searchHeaderSize : searchHeaderSize+n],
	}
	return it, b[searchHeaderSize+n:], nil
}
