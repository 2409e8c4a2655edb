package volume

// releaseUnselected closes the directories of the filesystems none of the
// selected volumes (nor their possible sources) is on, so that the run
// holds only what was named: an unrelated umount must not find its
// filesystem busy while a filtered dedup runs.
func (d *discovery) releaseUnselected() {
	used := map[*Filesystem]bool{}
	for _, v := range d.set.Volumes {
		used[v.FS] = true
	}
	for _, v := range d.set.Sources {
		used[v.FS] = true
	}
	for _, f := range d.set.inv.fss {
		if !used[f] {
			f.release()
		}
	}
}
