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
