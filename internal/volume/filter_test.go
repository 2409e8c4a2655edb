package volume

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func TestParseFilter(t *testing.T) {
	const u = "98d7f117-296e-449e-8d40-dfdd887c7cd9"
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   string
		kind Kind
		uuid string
		path string
		rel  bool
		bad  bool
	}{
		{in: u, kind: ByUUID, uuid: u},
		{in: "98D7F117296E449E8D40DFDD887C7CD9", kind: ByUUID, uuid: u},
		{in: "{" + u + "}", kind: ByUUID, uuid: u},
		{in: "urn:uuid:" + u, kind: ByUUID, uuid: u},
		{in: "/dev/sda1", kind: ByDevice, path: "/dev/sda1"},
		{in: "/mnt/data/", kind: ByPath, path: "/mnt/data"},
		{in: "/mnt/../mnt/data", kind: ByPath, path: "/mnt/data"},
		{in: "/mnt/x/photos", kind: ByPath, path: "/mnt/x/photos"},
		{in: "vol:/mnt/snap", kind: ByVol, path: "/mnt/snap"},
		{in: "vol:mnt/snap", bad: true},
		{in: "vol:rel", bad: true},
		{in: "vol:.", bad: true},
		{in: "", bad: true},
		// Relative paths, against the current directory.
		{in: ".", kind: ByPath, path: wd, rel: true},
		{in: "photos", kind: ByPath, path: wd + "/photos", rel: true},
		{in: "mnt/data/", kind: ByPath, path: wd + "/mnt/data", rel: true},
		{in: "../x", kind: ByPath, path: filepath.Join(filepath.Dir(wd), "x"), rel: true},
		{in: "./" + u, kind: ByPath, path: wd + "/" + u, rel: true},
		{in: "dev/sda", kind: ByPath, path: wd + "/dev/sda", rel: true},
		// Not quite UUIDs: relative paths too (Discover says both).
		{in: "98d7f117-296e-449e-8d40", kind: ByPath, path: wd + "/98d7f117-296e-449e-8d40", rel: true},
		{in: "98d7f117-296e-449e-8d40-dfdd887c7cdz", kind: ByPath, path: wd + "/98d7f117-296e-449e-8d40-dfdd887c7cdz", rel: true},
		{in: "hello", kind: ByPath, path: wd + "/hello", rel: true},
	} {
		f, err := ParseFilter(c.in)
		var fe *FilterError
		if c.bad {
			if !errors.As(err, &fe) {
				t.Errorf("ParseFilter(%q) = %+v, %v; want a FilterError", c.in, f, err)
			}
			continue
		}
		if err != nil || f.Kind != c.kind || f.UUID != c.uuid || f.Path != c.path || f.Relative != c.rel || f.Arg != c.in {
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
		if flt.Kind != ByUUID && !filepath.IsAbs(flt.Path) {
			t.Fatalf("path %q of %q is not absolute", flt.Path, s)
		}
		if flt.Kind == ByUUID {
			again, err := ParseUUID(flt.UUID)
			if err != nil || again != flt.UUID {
				t.Fatalf("canonical UUID %q does not parse to itself: %q, %v", flt.UUID, again, err)
			}
		}
	})
}

func FuzzParseUUID(f *testing.F) {
	for _, s := range []string{"98d7f117-296e-449e-8d40-dfdd887c7cd9", "{98D7F117296E449E8D40DFDD887C7CD9}", "urn:uuid:98d7f117-296e-449e-8d40-dfdd887c7cd9", "98d7f117-296e449e-8d40-dfdd887c7cd9", " x "} {
		f.Add(s)
	}
	canonical := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUUID(s)
		if err != nil {
			return
		}
		if !canonical.MatchString(u) {
			t.Fatalf("ParseUUID(%q) = %q: not canonical", s, u)
		}
		if again, err := ParseUUID(u); err != nil || again != u {
			t.Fatalf("%q does not parse to itself: %q, %v", u, again, err)
		}
	})
}
