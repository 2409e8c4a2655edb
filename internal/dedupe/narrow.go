package dedupe

import "context"

// A window's size groups are narrowed by fingerprints, cheapest first.
// Each step tells more instances of a group apart, or settles groups (one
// instance left: nothing to share; every instance with a content
// fingerprint: the sets are known), and leaves the others to the next
// step. A new fingerprint slots in by its place in the list: before the
// reads it spares.
type fingerprint struct {
	name   string
	narrow func(p *pass, ctx context.Context, w *window) error
}

// fingerprints are the steps, in order (DESIGN §4.5):
//   - the extent map (FIEMAP, taken when the files were examined): files
//     on the same extents are one instance, and a group of one instance
//     is done, unread;
//   - the data checksums (the csum tree; csumprint.go, tailprint.go):
//     nothing read but the rare tail whose checksum disagrees;
//   - samples: 12 KiB of each instance (the whole of a small file, which
//     gives its full hash at once);
//   - the full hash of the instances whose samples match another's.
var fingerprints = []fingerprint{
	{"extent map", (*pass).byExtentMap},
	{"data checksums", (*pass).byCsums},
	{"samples", (*pass).bySamples},
	{"full hash", (*pass).byFullHash},
}

// narrow applies the fingerprints to a window's groups, in order.
func (p *pass) narrow(ctx context.Context, w *window) error {
	for _, f := range fingerprints {
		if err := f.narrow(p, ctx, w); err != nil {
			return err
		}
	}
	return nil
}

// byExtentMap sorts each group's examined members into instances (see
// instances).
func (p *pass) byExtentMap(_ context.Context, w *window) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Groups += len(w.groups)
	for _, g := range w.groups {
		p.instances(g, w.batch)
	}
	return nil
}

// byCsums gives csum prints where every instance of a group can have one
// (see csumPrints).
func (p *pass) byCsums(ctx context.Context, w *window) error {
	p.csumPrints(ctx, w.groups)
	return nil
}

// unsettled lists the groups no fingerprint has settled yet.
func unsettled(groups []*group) []*group {
	var out []*group
	for _, g := range groups {
		if !g.done && !g.csum {
			out = append(out, g)
		}
	}
	return out
}

// bySamples samples each instance of the unsettled groups that has no
// stored sample (hashing a small file whole instead).
func (p *pass) bySamples(ctx context.Context, w *window) error {
	var jobs []readJob
	for _, g := range unsettled(w.groups) {
		for _, in := range g.instances {
			if !in.hasSmp {
				jobs = append(jobs, readJob{in: in, size: g.size, sample: g.size > smallFile})
			}
		}
	}
	return p.parallel(ctx, len(jobs), func(i int) { p.read(jobs[i]) })
}

// byFullHash hashes the instances of the unsettled groups whose sample
// matches another instance's.
func (p *pass) byFullHash(ctx context.Context, w *window) error {
	var jobs []readJob
	for _, g := range unsettled(w.groups) {
		count := map[uint64]int{}
		for _, in := range g.instances {
			if in.hasSmp {
				count[in.sample]++
			}
		}
		for _, in := range g.instances {
			if in.hash == nil && in.hasSmp && count[in.sample] > 1 {
				jobs = append(jobs, readJob{in: in, size: g.size})
			}
		}
	}
	return p.parallel(ctx, len(jobs), func(i int) { p.read(jobs[i]) })
}
