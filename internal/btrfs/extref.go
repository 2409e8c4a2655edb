package btrfs

// InodeExtref is one entry of an INODE_EXTREF item: a name of the inode
// inside directory Parent. Btrfs writes extended refs (with the
// extended_iref feature, the default) when an inode's names in one
// directory outgrow its INODE_REF item; the item's key offset is a hash of
// the parent and the name, so the parent is in the payload.
type InodeExtref struct {
	Parent uint64
	Index  uint64
	Name   []byte
}

// DecodeInodeExtrefs decodes an INODE_EXTREF payload, which packs one entry
// per name whose (parent, name) hash collides.
func DecodeInodeExtrefs(b []byte) ([]InodeExtref, error) {
	const hdr = 18
	var refs []InodeExtref
	for len(b) > 0 {
		if len(b) < hdr {
			return refs, errShort("inode extref", len(b), hdr)
		}
		n := int(le16(b, 16))
		if len(b) < hdr+n {
			return refs, errShort("inode extref name", len(b), hdr+n)
		}
		refs = append(refs, InodeExtref{Parent: le64(b, 0), Index: le64(b, 8), Name: b[hdr : hdr+n]})
		b = b[hdr+n:]
	}
	return refs, nil
}
