package volume

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// plugged is one Btrfs device blkid reports.
type plugged struct {
	Device, UUID, Label string
}

// parseBlkidExport parses `blkid -o export` output: blocks of KEY=value
// lines separated by blank lines, one block per device.
func parseBlkidExport(out []byte) []plugged {
	var res []plugged
	var cur plugged
	var typ string
	flush := func() {
		if cur.Device != "" && typ == "btrfs" && cur.UUID != "" {
			res = append(res, cur)
		}
		cur, typ = plugged{}, ""
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			flush()
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch k {
		case "DEVNAME":
			cur.Device = v
		case "UUID":
			cur.UUID = strings.ToLower(v)
		case "LABEL":
			cur.Label = v
		case "TYPE":
			typ = v
		}
	}
	flush()
	return res
}

// blkidAll lists every Btrfs device the system has, probing devices anew
// (no cache: loop devices come and go). Exit status 2 means none.
func blkidAll() ([]plugged, error) {
	return runBlkid("-c", "/dev/null", "-t", "TYPE=btrfs", "-o", "export")
}

// blkidDevice probes one device.
func blkidDevice(dev string) (plugged, bool, error) {
	p, err := runBlkid("-p", "-o", "export", dev)
	if err != nil || len(p) == 0 {
		return plugged{}, false, err
	}
	return p[0], true, nil
}

func runBlkid(args ...string) ([]plugged, error) {
	out, err := exec.Command("blkid", args...).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 2 {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("blkid %s: %w", strings.Join(args, " "), err)
	}
	return parseBlkidExport(out), nil
}
