package btrfs

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func put64(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }
func put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
func put16(b []byte, off int, v uint16) { binary.LittleEndian.PutUint16(b[off:], v) }

func encInodeItem(gen, transid, size uint64, mode uint32) []byte {
	b := make([]byte, InodeItemSize)
	put64(b, 0, gen)
	put64(b, 8, transid)
	put64(b, 16, size)
	put32(b, 40, 1)
	put32(b, 52, mode)
	put64(b, 136, 1700000000)
	put32(b, 144, 42)
	return b
}

func encRootItem(gen, flags uint64, size int) []byte {
	b := make([]byte, size)
	put64(b, 160, gen)
	put64(b, 168, 256)
	put64(b, 208, flags)
	put32(b, 216, 1)
	if size >= rootItemV2End {
		b[247] = 0xab
		put64(b, 295, 7)
	}
	return b
}

func encRootRef(dirid uint64, name string) []byte {
	b := make([]byte, 18+len(name))
	put64(b, 0, dirid)
	put64(b, 8, 3)
	put16(b, 16, uint16(len(name)))
	copy(b[18:], name)
	return b
}

func encInodeRef(index uint64, name string) []byte {
	b := make([]byte, 10+len(name))
	put64(b, 0, index)
	put16(b, 8, uint16(len(name)))
	copy(b[10:], name)
	return b
}

func encDirItem(ino, transid uint64, typ uint8, name, data string) []byte {
	b := make([]byte, 30+len(name)+len(data))
	put64(b, 0, ino)
	b[8] = InodeItemKey
	put64(b, 17, transid)
	put16(b, 25, uint16(len(data)))
	put16(b, 27, uint16(len(name)))
	b[29] = typ
	copy(b[30:], name)
	copy(b[30+len(name):], data)
	return b
}

func encFileExtent(gen uint64, typ uint8, bytenr, num uint64) []byte {
	if typ == FileExtentInline {
		b := make([]byte, 21+5)
		put64(b, 0, gen)
		copy(b[21:], "hello")
		return b
	}
	b := make([]byte, 53)
	put64(b, 0, gen)
	b[20] = typ
	put64(b, 21, bytenr)
	put64(b, 29, num)
	put64(b, 45, num)
	return b
}

func encSearchItem(transid, obj uint64, typ uint32, off uint64, data []byte) []byte {
	b := make([]byte, searchHeaderSize+len(data))
	put64(b, 0, transid)
	put64(b, 8, obj)
	put64(b, 16, off)
	put32(b, 24, typ)
	put32(b, 28, uint32(len(data)))
	copy(b[32:], data)
	return b
}

func TestDecodeInodeItem(t *testing.T) {
	it, err := DecodeInodeItem(encInodeItem(5, 9, 4096, 0o100644))
	if err != nil {
		t.Fatal(err)
	}
	if it.Generation != 5 || it.Transid != 9 || it.Size != 4096 || !it.IsRegular() || it.IsDir() || it.Nlink != 1 ||
		it.Mtime != (Timespec{1700000000, 42}) {
		t.Errorf("decoded %+v", it)
	}
	if _, err := DecodeInodeItem(make([]byte, InodeItemSize-1)); err == nil {
		t.Error("short inode item decoded without error")
	}
}

func TestDecodeRootItem(t *testing.T) {
	for _, c := range []struct {
		name    string
		b       []byte
		wantErr bool
		ro      bool
		ctrans  uint64
	}{
		{"new layout, read-only", encRootItem(12, RootSubvolRdonly, 439), false, true, 7},
		{"old layout", encRootItem(12, 0, rootItemV1Size), false, false, 0},
		{"truncated", encRootItem(12, 0, 439)[:200], true, false, 0},
	} {
		r, err := DecodeRootItem(c.b)
		if (err != nil) != c.wantErr {
			t.Errorf("%s: err = %v", c.name, err)
			continue
		}
		if err == nil && (r.Generation != 12 || r.ReadOnly() != c.ro || r.Ctransid != c.ctrans) {
			t.Errorf("%s: decoded %+v", c.name, r)
		}
	}
}

func TestDecodeRefsAndDirItems(t *testing.T) {
	rr, err := DecodeRootRef(encRootRef(256, "snap"))
	if err != nil || rr.DirID != 256 || string(rr.Name) != "snap" {
		t.Errorf("root ref: %+v, %v", rr, err)
	}
	if _, err := DecodeRootRef(encRootRef(256, "snap")[:20]); err == nil {
		t.Error("truncated root ref name decoded")
	}
	refs, err := DecodeInodeRefs(append(encInodeRef(2, "a"), encInodeRef(3, "bb")...))
	if err != nil || len(refs) != 2 || string(refs[1].Name) != "bb" || refs[1].Index != 3 {
		t.Errorf("inode refs: %+v, %v", refs, err)
	}
	if _, err := DecodeInodeRefs(encInodeRef(2, "abc")[:11]); err == nil {
		t.Error("truncated inode ref decoded")
	}
	items, err := DecodeDirItems(append(encDirItem(257, 8, 1, "f", ""), encDirItem(258, 9, 2, "d", "xy")...))
	if err != nil || len(items) != 2 || items[0].Location.ObjectID != 257 || items[1].Transid != 9 ||
		string(items[1].Data) != "xy" || items[1].Type != 2 {
		t.Errorf("dir items: %+v, %v", items, err)
	}
	if _, err := DecodeDirItems(encDirItem(257, 8, 1, "name", "")[:31]); err == nil {
		t.Error("truncated dir item decoded")
	}
}

func TestDecodeFileExtentItem(t *testing.T) {
	e, err := DecodeFileExtentItem(encFileExtent(4, FileExtentReg, 1<<20, 8192))
	if err != nil || e.Type != FileExtentReg || e.DiskBytenr != 1<<20 || e.NumBytes != 8192 || e.Generation != 4 {
		t.Errorf("regular extent: %+v, %v", e, err)
	}
	e, err = DecodeFileExtentItem(encFileExtent(4, FileExtentInline, 0, 0))
	if err != nil || e.Type != FileExtentInline || e.InlineLen != 5 {
		t.Errorf("inline extent: %+v, %v", e, err)
	}
	if _, err := DecodeFileExtentItem(encFileExtent(4, FileExtentReg, 1, 1)[:40]); err == nil {
		t.Error("truncated regular extent decoded")
	}
}

func TestDecodeSearchItem(t *testing.T) {
	buf := append(encSearchItem(7, 257, InodeItemKey, 0, []byte("abc")), encSearchItem(8, 258, ExtentDataKey, 4096, nil)...)
	it, rest, err := decodeSearchItem(buf)
	if err != nil || it.Transid != 7 || it.Key != (Key{257, InodeItemKey, 0}) || string(it.Data) != "abc" {
		t.Fatalf("first item: %+v, %v", it, err)
	}
	it, rest, err = decodeSearchItem(rest)
	if err != nil || it.Key != (Key{258, ExtentDataKey, 4096}) || len(rest) != 0 {
		t.Fatalf("second item: %+v, %v", it, err)
	}
	if _, _, err := decodeSearchItem(buf[:34]); err == nil {
		t.Error("item overrunning the buffer decoded")
	}
}

func TestDecodeInoPaths(t *testing.T) {
	b := make([]byte, 64)
	put32(b, 8, 2)  // elem_cnt
	put32(b, 12, 1) // elem_missed
	put64(b, 16, 16)
	put64(b, 24, 20)
	copy(b[32:], "a/b\x00cd\x00")
	paths, missed, err := decodeInoPaths(b)
	if err != nil || missed != 1 || len(paths) != 2 || paths[0] != "a/b" || paths[1] != "cd" {
		t.Errorf("got %q, %d, %v", paths, missed, err)
	}
	put64(b, 24, 1000)
	if _, _, err := decodeInoPaths(b); err == nil {
		t.Error("offset out of range decoded")
	}
}

func TestAdvancePast(t *testing.T) {
	max := ^uint64(0)
	r := SearchRange{Max: Key{ObjectID: max, Type: 0xff, Offset: max}}
	for _, c := range []struct {
		k    Key
		want Key
		done bool
	}{
		{Key{5, 1, 0}, Key{5, 1, 1}, false},
		{Key{5, 1, max}, Key{5, 2, 0}, false},
		{Key{5, 0xff, max}, Key{6, 0, 0}, false},
		{Key{max, 0xff, max}, Key{}, true},
	} {
		s := &Search{r: r}
		s.advancePast(c.k)
		if s.done != c.done || (!c.done && s.cur != c.want) {
			t.Errorf("advancePast(%v) = %v done=%v", c.k, s.cur, s.done)
		}
	}
	s := &Search{r: SearchRange{Max: Key{10, 1, 0}}}
	s.advancePast(Key{10, 1, 0})
	if !s.done {
		t.Error("advancing past the range's last key did not end the search")
	}
}

func TestFormatUUID(t *testing.T) {
	var u [16]byte
	for i := range u {
		u[i] = byte(i)
	}
	if got, want := FormatUUID(u), "00010203-0405-0607-0809-0a0b0c0d0e0f"; got != want {
		t.Errorf("FormatUUID = %s, want %s", got, want)
	}
}

// The fuzz targets feed arbitrary bytes to every decoder: none may panic,
// and whatever they return must lie inside the input.

func FuzzDecodeInodeItem(f *testing.F) {
	f.Add(encInodeItem(5, 9, 4096, 0o100644))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := DecodeInodeItem(b); err == nil && len(b) < InodeItemSize {
			t.Fatal("short input accepted")
		}
	})
}

func FuzzDecodeRootItem(f *testing.F) {
	f.Add(encRootItem(12, 1, 439))
	f.Add(encRootItem(12, 0, rootItemV1Size))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := DecodeRootItem(b); err == nil && len(b) < rootItemV1Size {
			t.Fatal("short input accepted")
		}
	})
}

func FuzzDecodeRootRef(f *testing.F) {
	f.Add(encRootRef(256, "snap"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := DecodeRootRef(b); err == nil && !bytes.Contains(b, r.Name) {
			t.Fatal("name not taken from the input")
		}
	})
}

func FuzzDecodeInodeRefs(f *testing.F) {
	f.Add(append(encInodeRef(2, "a"), encInodeRef(3, "bb")...))
	f.Fuzz(func(t *testing.T, b []byte) {
		refs, _ := DecodeInodeRefs(b)
		total := 0
		for _, r := range refs {
			total += 10 + len(r.Name)
		}
		if total > len(b) {
			t.Fatalf("decoded %d bytes out of %d", total, len(b))
		}
	})
}

func FuzzDecodeDirItems(f *testing.F) {
	f.Add(append(encDirItem(257, 8, 1, "f", ""), encDirItem(258, 9, 2, "d", "xy")...))
	f.Fuzz(func(t *testing.T, b []byte) {
		items, _ := DecodeDirItems(b)
		total := 0
		for _, it := range items {
			total += 30 + len(it.Name) + len(it.Data)
		}
		if total > len(b) {
			t.Fatalf("decoded %d bytes out of %d", total, len(b))
		}
	})
}

func FuzzDecodeFileExtentItem(f *testing.F) {
	f.Add(encFileExtent(4, FileExtentReg, 1<<20, 8192))
	f.Add(encFileExtent(4, FileExtentInline, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeFileExtentItem(b)
		if err == nil && e.Type != FileExtentInline && len(b) < 53 {
			t.Fatal("short regular extent accepted")
		}
	})
}

func FuzzDecodeSearchItems(f *testing.F) {
	f.Add(append(encSearchItem(7, 257, 1, 0, []byte("abc")), encSearchItem(8, 258, 108, 0, nil)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		for len(b) > 0 {
			it, rest, err := decodeSearchItem(b)
			if err != nil {
				return
			}
			if len(rest) >= len(b) || len(it.Data) > len(b) {
				t.Fatal("decoder did not consume its input")
			}
			b = rest
		}
	})
}

func FuzzDecodeInoPaths(f *testing.F) {
	b := make([]byte, 64)
	put32(b, 8, 2)
	put64(b, 16, 16)
	put64(b, 24, 20)
	copy(b[32:], "a/b\x00cd\x00")
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		paths, _, err := decodeInoPaths(b)
		if err == nil && len(paths) > len(b) {
			t.Fatal("more paths than bytes")
		}
	})
}
