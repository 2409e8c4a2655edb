package mountinfo

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// encode formats m as a mountinfo line, escaping space, tab, newline and
// backslash as the kernel does, so that ParseLine(encode(m)) gives m back.
func encode(m Mount) string {
	esc := strings.NewReplacer(`\`, `\134`, " ", `\040`, "\t", `\011`, "\n", `\012`)
	f := []string{
		fmt.Sprint(m.ID),
		fmt.Sprint(m.ParentID),
		fmt.Sprintf("%d:%d", m.Major, m.Minor),
		esc.Replace(m.Root),
		esc.Replace(m.MountPoint),
		strings.Join(m.Options, ","),
	}
	f = append(f, m.Optional...)
	f = append(f, "-",
		esc.Replace(m.FSType),
		esc.Replace(m.Source),
		strings.Join(m.SuperOptions, ","))
	return strings.Join(f, " ")
}

const btrfsHome = `36 25 0:32 /@home /home rw,relatime shared:1 - btrfs /dev/mapper/root rw,space_cache=v2,subvolid=257,subvol=/@home`

var parseTests = []struct {
	name string
	line string
	want Mount
}{
	{
		name: "btrfs subvolume",
		line: btrfsHome,
		want: Mount{
			ID: 36, ParentID: 25, Major: 0, Minor: 32,
			Root: "/@home", MountPoint: "/home",
			Options:      []string{"rw", "relatime"},
			Optional:     []string{"shared:1"},
			FSType:       "btrfs",
			Source:       "/dev/mapper/root",
			SuperOptions: []string{"rw", "space_cache=v2", "subvolid=257", "subvol=/@home"},
		},
	},
	{
		name: "escaped space in mount point",
		line: `120 29 8:17 / /mnt/my\040disk rw,nosuid,nodev shared:70 - ext4 /dev/sdb1 rw`,
		want: Mount{
			ID: 120, ParentID: 29, Major: 8, Minor: 17,
			Root: "/", MountPoint: "/mnt/my disk",
			Options:      []string{"rw", "nosuid", "nodev"},
			Optional:     []string{"shared:70"},
			FSType:       "ext4",
			Source:       "/dev/sdb1",
			SuperOptions: []string{"rw"},
		},
	},
	{
		name: "tab newline backslash escapes and literal backslashes",
		line: `50 1 0:40 /a\011b /c\012d\134e rw - fuse.my\040fs src\\x\0 rw`,
		want: Mount{
			ID: 50, ParentID: 1, Major: 0, Minor: 40,
			Root: "/a\tb", MountPoint: "/c\nd\\e",
			Options:      []string{"rw"},
			FSType:       "fuse.my fs",
			Source:       `src\\x\0`,
			SuperOptions: []string{"rw"},
		},
	},
	{
		name: "escape above one byte kept literally",
		line: `51 1 0:41 /\777\1234 /mnt rw - tmpfs tmpfs rw`,
		want: Mount{
			ID: 51, ParentID: 1, Major: 0, Minor: 41,
			Root: `/\777S4`, MountPoint: "/mnt",
			Options:      []string{"rw"},
			FSType:       "tmpfs",
			Source:       "tmpfs",
			SuperOptions: []string{"rw"},
		},
	},
	{
		name: "no optional fields",
		line: `22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw`,
		want: Mount{
			ID: 22, ParentID: 1, Major: 0, Minor: 21,
			Root: "/", MountPoint: "/proc",
			Options:      []string{"rw", "nosuid", "nodev", "noexec", "relatime"},
			FSType:       "proc",
			Source:       "proc",
			SuperOptions: []string{"rw"},
		},
	},
	{
		name: "several optional fields",
		line: `204 120 0:52 /sub /srv/data rw,relatime shared:93 master:12 propagate_from:7 unbindable - btrfs /dev/sdc rw,subvolid=300,subvol=/sub`,
		want: Mount{
			ID: 204, ParentID: 120, Major: 0, Minor: 52,
			Root: "/sub", MountPoint: "/srv/data",
			Options:      []string{"rw", "relatime"},
			Optional:     []string{"shared:93", "master:12", "propagate_from:7", "unbindable"},
			FSType:       "btrfs",
			Source:       "/dev/sdc",
			SuperOptions: []string{"rw", "subvolid=300", "subvol=/sub"},
		},
	},
	{
		name: "ro per mount",
		line: `40 25 0:32 /@snap /snap ro,relatime shared:5 - btrfs /dev/mapper/root rw,subvolid=260,subvol=/@snap`,
		want: Mount{
			ID: 40, ParentID: 25, Major: 0, Minor: 32,
			Root: "/@snap", MountPoint: "/snap",
			Options:      []string{"ro", "relatime"},
			Optional:     []string{"shared:5"},
			FSType:       "btrfs",
			Source:       "/dev/mapper/root",
			SuperOptions: []string{"rw", "subvolid=260", "subvol=/@snap"},
		},
	},
	{
		name: "ro per superblock",
		line: `41 25 7:0 / /media/cd rw,nosuid shared:6 - iso9660 /dev/loop0 ro,nojoliet,check=s,map=n,blocksize=2048`,
		want: Mount{
			ID: 41, ParentID: 25, Major: 7, Minor: 0,
			Root: "/", MountPoint: "/media/cd",
			Options:      []string{"rw", "nosuid"},
			Optional:     []string{"shared:6"},
			FSType:       "iso9660",
			Source:       "/dev/loop0",
			SuperOptions: []string{"ro", "nojoliet", "check=s", "map=n", "blocksize=2048"},
		},
	},
	{
		name: "source none and empty super options",
		line: `60 22 0:55 / /proc/sys/fs/binfmt_misc rw,relatime - binfmt_misc none `,
		want: Mount{
			ID: 60, ParentID: 22, Major: 0, Minor: 55,
			Root: "/", MountPoint: "/proc/sys/fs/binfmt_misc",
			Options: []string{"rw", "relatime"},
			FSType:  "binfmt_misc",
			Source:  "none",
		},
	},
	{
		name: "empty source, trailing newline",
		line: "61 22 0:56 / /x rw - cgroup2  rw,nsdelegate\n",
		want: Mount{
			ID: 61, ParentID: 22, Major: 0, Minor: 56,
			Root: "/", MountPoint: "/x",
			Options:      []string{"rw"},
			FSType:       "cgroup2",
			SuperOptions: []string{"rw", "nsdelegate"},
		},
	},
	{
		name: "dash as per-mount options is not the separator",
		line: `62 1 0:1 / / - - ext4 /dev/sda1 rw`,
		want: Mount{
			ID: 62, ParentID: 1, Major: 0, Minor: 1,
			Root: "/", MountPoint: "/",
			Options:      []string{"-"},
			FSType:       "ext4",
			Source:       "/dev/sda1",
			SuperOptions: []string{"rw"},
		},
	},
}

func TestParseLine(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLine(tt.line)
			if err != nil {
				t.Fatalf("ParseLine(%q): %v", tt.line, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseLine(%q)\n got %#v\nwant %#v", tt.line, got, tt.want)
			}
			again, err := ParseLine(encode(got))
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("round trip via %q: got %#v, %v", encode(got), again, err)
			}
		})
	}
}

var badLines = []struct {
	name, line, wantErr string
}{
	{"empty", "", "too few fields"},
	{"too few fields", "36 25 0:32 /@home /home", "too few fields"},
	{"non-numeric ID", "x 25 0:32 / / rw - btrfs /dev/sda rw", "mount ID"},
	{"negative ID", "-1 25 0:32 / / rw - btrfs /dev/sda rw", "mount ID"},
	{"non-numeric parent ID", "36 p 0:32 / / rw - btrfs /dev/sda rw", "parent ID"},
	{"ID overflow", "36 99999999999999999999 0:32 / / rw - btrfs /dev/sda rw", "parent ID"},
	{"no colon in device", "36 25 032 / / rw - btrfs /dev/sda rw", "major:minor"},
	{"bad major", "36 25 a:32 / / rw - btrfs /dev/sda rw", "major:minor"},
	{"bad minor", "36 25 0: / / rw - btrfs /dev/sda rw", "major:minor"},
	{"minor overflow", "36 25 0:4294967296 / / rw - btrfs /dev/sda rw", "major:minor"},
	{"missing separator", "36 25 0:32 /@home /home rw,relatime shared:1 btrfs /dev/mapper/root rw", "missing separator"},
	{"nothing after separator", "36 25 0:32 / / rw -", "too few fields after separator"},
	{"too few after separator", "36 25 0:32 / / rw shared:1 - btrfs /dev/sda", "too few fields after separator"},
	{"too many after separator", "36 25 0:32 / / rw - btrfs /dev/sda rw extra", "too many fields after separator"},
	{"double space before separator fields", "36 25 0:32 / / rw -  btrfs /dev/sda rw", "too many fields after separator"},
}

func TestParseLineErrors(t *testing.T) {
	for _, tt := range badLines {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseLine(tt.line)
			if err == nil {
				t.Fatalf("ParseLine(%q) = %#v, want error", tt.line, m)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "mountinfo: ") {
				t.Errorf("ParseLine(%q) error %q, want %q with prefix \"mountinfo: \"", tt.line, err, tt.wantErr)
			}
		})
	}
}

func TestReadOnly(t *testing.T) {
	for _, tt := range []struct {
		line string
		want bool
	}{
		{btrfsHome, false},
		{`40 25 0:32 /@snap /snap ro,relatime - btrfs /dev/sda rw`, true},
		{`41 25 7:0 / /media/cd rw,nosuid - iso9660 /dev/loop0 ro,nojoliet`, true},
		{`42 25 7:0 / /a rwx,nosuid - ext4 /dev/sda1 errors=ro`, false},
	} {
		m, err := ParseLine(tt.line)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.ReadOnly(); got != tt.want {
			t.Errorf("ReadOnly() for %q = %v, want %v", tt.line, got, tt.want)
		}
	}
}

func TestSuperOption(t *testing.T) {
	m, err := ParseLine(btrfsHome + ",ssd,subvolid=258")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, value string
		ok          bool
	}{
		{"subvol", "/@home", true},
		{"space_cache", "v2", true},
		{"ssd", "", true},
		{"rw", "", true},
		{"subvolid", "258", true}, // last occurrence wins
		{"compress", "", false},
		{"subvo", "", false},
		{"", "", false},
	} {
		v, ok := m.SuperOption(tt.name)
		if v != tt.value || ok != tt.ok {
			t.Errorf("SuperOption(%q) = %q, %v; want %q, %v", tt.name, v, ok, tt.value, tt.ok)
		}
	}
	m, _ = ParseLine(btrfsHome)
	if v, ok := m.SuperOption("subvolid"); v != "257" || !ok {
		t.Errorf(`SuperOption("subvolid") = %q, %v; want "257", true`, v, ok)
	}
}

func TestParse(t *testing.T) {
	var lines []string
	var want []Mount
	for _, tt := range parseTests {
		lines = append(lines, strings.TrimSuffix(tt.line, "\n"))
		want = append(want, tt.want)
	}
	for _, input := range []string{
		strings.Join(lines, "\n"),        // no final newline
		strings.Join(lines, "\n") + "\n", // final newline
	} {
		got, err := Parse(strings.NewReader(input))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Parse\n got %#v\nwant %#v", got, want)
		}
	}

	got, err := Parse(strings.NewReader(""))
	if err != nil || len(got) != 0 {
		t.Errorf("Parse(empty) = %v, %v; want no mounts, no error", got, err)
	}

	// A long line: no bufio.Scanner token limit.
	long := "1 0 0:1 / /" + strings.Repeat("x", 1<<17) + " rw - tmpfs tmpfs rw\n"
	got, err = Parse(strings.NewReader(long))
	if err != nil || len(got) != 1 || len(got[0].MountPoint) != 1+1<<17 {
		t.Errorf("Parse(long line): %d mounts, %v", len(got), err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		input, wantErr string
	}{
		{btrfsHome + "\n" + btrfsHome + "\n36 25 0:32 / / rw btrfs /dev/sda rw\n", "mountinfo line 3: missing separator"},
		{"x 1 0:1 / / rw - a b c\n", "mountinfo line 1: mount ID"},
		{btrfsHome + "\n\n" + btrfsHome, "mountinfo line 2: too few fields"},
	} {
		got, err := Parse(strings.NewReader(tt.input))
		if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
			t.Errorf("Parse(%q) = %v, %v; want error %q", tt.input, got, err, tt.wantErr)
		}
	}

	readErr := errors.New("boom")
	_, err := Parse(&failingReader{s: btrfsHome + "\n", err: readErr})
	if !errors.Is(err, readErr) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("Parse with read error: %v", err)
	}
}

// failingReader yields s and then fails with err.
type failingReader struct {
	s   string
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, r.err
	}
	n := copy(p, r.s)
	r.s = r.s[n:]
	return n, nil
}

func TestReadSelf(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("mountinfo is Linux-only")
	}
	if _, err := os.Stat("/proc/self/mountinfo"); err != nil {
		t.Skipf("no mountinfo: %v", err)
	}
	mounts, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mounts {
		if m.MountPoint == "/" {
			return
		}
	}
	t.Errorf("Read: no mount at / among %d mounts", len(mounts))
}

func FuzzParseLine(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.line)
	}
	for _, tt := range badLines {
		f.Add(tt.line)
	}
	f.Fuzz(func(t *testing.T, line string) {
		m, err := ParseLine(line)
		if err != nil {
			return
		}
		enc := encode(m)
		again, err := ParseLine(enc)
		if err != nil {
			t.Fatalf("ParseLine(%q) = %#v; reparsing %q: %v", line, m, enc, err)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip of %q via %q:\n got %#v\nwant %#v", line, enc, again, m)
		}
	})
}
