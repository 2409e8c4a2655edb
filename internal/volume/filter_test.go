package volume

import (
	"errors"
	"testing"
)

func TestParseFilter(t *testing.T) {
	const u = "98d7f117-296e-449e-8d40-dfdd887c7cd9"
	for _, c := range []struct {
		in   string
		kind Kind
		uuid string
		path string
		bad  bool
	}{
		{in: u, kind: ByUUID, uuid: u},
		{in: "98D7F117296E449E8D40DFDD887C7CD9", kind: ByUUID, uuid: u},
		{in: "{" + u + "}", kind: ByUUID, uuid: u},
		{in: "urn:uuid:" + u, kind: ByUUID, uuid: u},
		{in: "/dev/sda1", kind: ByDevice, path: "/dev/sda1"},
		{in: "/mnt/data/", kind: ByPath, path: "/mnt/data"},
		{in: "/mnt/../mnt/data", kind: ByPath, path: "/mnt/data"},
		{in: "vol:/mnt/snap", kind: ByVol, path: "/mnt/snap"},
		{in: "vol:mnt/snap", bad: true},
		{in: "mnt/data", bad: true},
		{in: ".", bad: true},
		{in: "", bad: true},
		{in: "98d7f117-296e-449e-8d40", bad: true},
		{in: "98d7f117-296e-449e-8d40-dfdd887c7cdz", bad: true},
		{in: "98d7f1172-96e-449e-8d40-dfdd887c7cd9", bad: true},
		{in: "hello", bad: true},
	} {
		f, err := ParseFilter(c.in)
		var fe *FilterError
		if c.bad {
			if !errors.As(err, &fe) {
				t.Errorf("ParseFilter(%q) = %+v, %v; want a FilterError", c.in, f, err)
			}
			continue
		}
		if err != nil || f.Kind != c.kind || f.UUID != c.uuid || f.Path != c.path {
			t.Errorf("ParseFilter(%q) = %+v, %v", c.in, f, err)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"98d7f117-296e-449e-8d40-dfdd887c7cd9", "{98D7F117296E449E8D40DFDD887C7CD9}", "/dev/sda", "vol:/x", "/a/b", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			return
		}
		if flt.Kind == ByUUID {
			again, err := ParseUUID(flt.UUID)
			if err != nil || again != flt.UUID {
				t.Fatalf("canonical UUID %q does not parse to itself: %q, %v", flt.UUID, again, err)
			}
		}
	})
}

func TestParseBlkidExport(t *testing.T) {
	out := []byte(`DEVNAME=/dev/loop0
UUID=98D7F117-296e-449e-8d40-dfdd887c7cd9
UUID_SUB=24ac5eb5-eb9a-417c-8374-62e9a7b57c4d
LABEL=data disk
TYPE=btrfs

DEVNAME=/dev/vda
UUID=1111
TYPE=ext4

DEVNAME=/dev/loop1
UUID=0b7a2c33-0000-4000-8000-000000000001
TYPE=btrfs
`)
	got := parseBlkidExport(out)
	want := []plugged{
		{"/dev/loop0", "98d7f117-296e-449e-8d40-dfdd887c7cd9", "data disk"},
		{"/dev/loop1", "0b7a2c33-0000-4000-8000-000000000001", ""},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("parseBlkidExport = %+v, want %+v", got, want)
	}
}
