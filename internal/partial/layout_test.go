package partial

import (
	"reflect"
	"testing"
)

func TestLayout(t *testing.T) {
	dest := layoutOf([]item{{d: 0, n: 64, bytenr: 100}, {d: 64, n: 64, bytenr: 100, off: 64}, {d: 200, n: 8, bytenr: 300}})
	if want := []seg{{0, 128, 100, 0}, {200, 8, 300, 0}}; !reflect.DeepEqual(dest, want) {
		t.Fatalf("normalized %v, want %v", dest, want)
	}
	src := layoutOf([]item{{d: 0, n: 256, bytenr: 500, off: 10}})
	got := place(dest, 10, 20, src, 10)
	want := []seg{{0, 10, 100, 0}, {10, 20, 500, 20}, {30, 98, 100, 30}, {200, 8, 300, 0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after a share %v, want %v", got, want)
	}
	tmp := layoutOf([]item{{d: 5, n: 5, bytenr: 900}})
	got = place(got, 5, 5, tmp, 5)
	want = []seg{{0, 5, 100, 0}, {5, 5, 900, 0}, {10, 20, 500, 20}, {30, 98, 100, 30}, {200, 8, 300, 0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after a rewrite %v, want %v", got, want)
	}
	// Sharing the rest back from where it was is the original layout.
	back := place(place(got, 5, 5, dest, 5), 10, 20, dest, 10)
	if !sameLayout(back, dest) {
		t.Errorf("round trip %v, want %v", back, dest)
	}
	if sameLayout(dest, src) || !sameLayout(nil, []seg{}) {
		t.Error("sameLayout")
	}
}
