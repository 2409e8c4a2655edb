package ui

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"io"
	"unicode/utf8"

	"github.com/bedup/bedup/internal/dedupe"
	"github.com/bedup/bedup/internal/run"
)

// JSON prints for scripts (docs/json.md): JSON Lines events ending in a
// summary for scan, dedup and dedup-files; one document for the other
// commands. Every object has "version"; sizes are in bytes; keys are
// snake_case.
type JSON struct {
	o   Options
	w   *bufio.Writer
	err error
	// listOpen is set once a listing document's array has an element.
	listOpen bool
	// notices of a one-document command, which go into its document.
	notices []any
}

// NewJSON prints to out.
func NewJSON(out io.Writer, o Options) *JSON {
	return &JSON{o: o, w: bufio.NewWriter(out)}
}

func (j *JSON) write(b []byte) {
	if j.err != nil {
		return
	}
	if _, err := j.w.Write(b); err != nil {
		j.err = err
	}
}

// emit writes one JSON Lines event.
func (j *JSON) emit(typ string, fields map[string]any) {
	fields["version"] = JSONVersion
	fields["type"] = typ
	b, err := json.Marshal(fields)
	if err != nil {
		j.err = err
		return
	}
	j.write(append(b, '\n'))
	if j.err == nil {
		j.err = j.w.Flush()
	}
}

// document writes one whole document.
func (j *JSON) document(fields map[string]any) {
	fields["version"] = JSONVersion
	fields["command"] = j.o.Command
	if len(j.notices) > 0 {
		fields["notices"] = j.notices
		j.notices = nil
	}
	b, err := json.MarshalIndent(fields, "", "  ")
	if err != nil {
		j.err = err
		return
	}
	j.write(append(b, '\n'))
}

// element adds one element to a listing document's array (Options.List),
// opening the document first: listings are streamed, not held.
func (j *JSON) element(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		j.err = err
		return
	}
	if !j.listOpen {
		j.openList()
		j.write([]byte("\n"))
	} else {
		j.write([]byte(",\n"))
	}
	j.write(b)
}

// openList writes the listing document's header keys and opens its array.
func (j *JSON) openList() {
	h := map[string]any{"version": JSONVersion, "command": j.o.Command}
	for k, v := range j.o.Header {
		h[k] = v
	}
	hb, err := json.Marshal(h)
	if err != nil {
		j.err = err
		return
	}
	j.write(hb[:len(hb)-1])
	j.write([]byte(`,"` + j.o.List + `":[`))
	j.listOpen = true
}

// fileJSON is how a file appears: its path (invalid UTF-8 replaced by
// U+FFFD) and, when the name is not UTF-8, its exact bytes in base64.
func fileJSON(path string, subvol, ino uint64) map[string]any {
	m := map[string]any{"path": path}
	if !utf8.ValidString(path) {
		m["path_bytes"] = base64.StdEncoding.EncodeToString([]byte(path))
	}
	if subvol != 0 {
		m["subvolume"] = subvol
	}
	if ino != 0 {
		m["inode"] = ino
	}
	return m
}

func errString(err error) any {
	if err == nil {
		return nil
	}
	return err.Error()
}

func fsJSON(fs run.FilesystemRef) map[string]any {
	return map[string]any{"uuid": fs.UUID, "label": fs.Label}
}

// Notice implements run.Reporter.
func (j *JSON) Notice(n run.Notice) {
	f := map[string]any{"code": string(n.Code)}
	if n.Subject != "" {
		f["subject"] = n.Subject
	}
	if n.Detail != "" {
		f["detail"] = n.Detail
	}
	if n.Count != 0 {
		f["count"] = n.Count
	}
	if n.Err != nil {
		f["error"] = n.Err.Error()
	}
	if !j.o.Stream {
		// A line of its own would break the one document.
		j.notices = append(j.notices, f)
		return
	}
	j.emit("notice", f)
}

// VolumeScanned implements run.Reporter.
func (j *JSON) VolumeScanned(v run.VolumeScan) {
	j.emit("scanned", map[string]any{
		"filesystem": fsJSON(v.FS), "volume": fileJSON(v.Volume, v.SubvolID, 0), "source_only": v.SourceOnly,
		"unchanged": v.Unchanged, "from_generation": v.From, "to_generation": v.To, "size_cutoff": v.Cutoff,
		"items": v.Items, "new_or_changed": v.Retained, "dropped": v.Dropped, "elapsed_seconds": v.Elapsed.Seconds(),
	})
}

// ScanProgress implements run.Reporter; JSON carries no progress.
func (j *JSON) ScanProgress(run.VolumeScan) {}

// DedupeEvent implements run.Reporter.
func (j *JSON) DedupeEvent(fs run.FilesystemRef, e dedupe.Event) {
	switch e := e.(type) {
	case dedupe.Skipped:
		j.emit("skipped", map[string]any{"filesystem": fs.UUID, "file": fileJSON(e.File.Path, e.File.VolumeID, e.File.Ino),
			"reason": string(e.Reason), "error": errString(e.Err)})
	case dedupe.Halted:
		j.emit("halted", map[string]any{"filesystem": fs.UUID, "reason": string(e.Reason), "error": errString(e.Err)})
	case dedupe.Shared:
		dests := make([]any, len(e.Dests))
		for i, d := range e.Dests {
			dests[i] = fileJSON(d.Path, d.VolumeID, d.Ino)
		}
		j.emit("shared", map[string]any{"filesystem": fs.UUID, "size": e.Size, "source": fileJSON(e.Source.Path, e.Source.VolumeID, e.Source.Ino),
			"destinations": dests, "bytes_shared": e.BytesShared, "bytes_freed": e.BytesFreed, "dry_run": e.DryRun})
	case dedupe.GroupDone:
		if j.o.Verbose {
			j.emit("group", map[string]any{"filesystem": fs.UUID, "size": e.Size, "members": e.Members,
				"already_shared": e.AlreadyShared, "identical_sets": e.Sets})
		}
	}
}

func statsJSON(s dedupe.Stats) map[string]any {
	var halted any
	if s.Halted != "" {
		halted = string(s.Halted)
	}
	skipped := map[string]int{}
	n := 0
	for r, c := range s.Skipped {
		skipped[string(r)] = c
		n += c
	}
	return map[string]any{
		"size_groups": s.Groups, "already_shared_groups": s.AlreadyShared, "files_shared": s.FilesShared,
		"bytes_deduplicated": s.BytesDeduped, "bytes_freed": s.BytesFreed, "bytes_read": s.BytesRead,
		"files_hashed": s.FilesHashed, "files_sampled": s.FilesSampled, "dedupe_calls": s.DedupeCalls,
		"files_skipped": n, "skipped": skipped, "files_deferred": s.Deferred, "size_groups_left": s.GroupsLeft,
		"halted": halted, "kept_read_only": s.KeptReadOnly, "files_excluded": s.Excluded, "deleted_files_forgotten": s.Dropped,
		"examine_seconds": s.ExamineTime.Seconds(), "read_seconds": s.ReadTime.Seconds(), "share_seconds": s.ShareTime.Seconds(),
	}
}

// Summary implements Printer.
func (j *JSON) Summary(s run.Summary) { j.emit("summary", summaryJSON(s)) }

func summaryJSON(s run.Summary) map[string]any {
	fss := make([]any, 0, len(s.Filesystems))
	for _, f := range s.Filesystems {
		fss = append(fss, map[string]any{"filesystem": fsJSON(f.FS), "stats": statsJSON(f.Stats)})
	}
	return map[string]any{"dry_run": s.DryRun, "volumes_scanned": s.Volumes, "new_or_changed": s.Retained,
		"filesystems": fss, "total": statsJSON(s.Total), "partial": partialJSON(s.Partial), "elapsed_seconds": s.Elapsed.Seconds()}
}

// FileResult implements Printer.
func (j *JSON) FileResult(r FileResult) {
	f := map[string]any{"file": fileJSON(r.Path, 0, 0), "outcome": r.Result.Outcome.String(), "bytes_shared": r.Result.Bytes}
	if r.Result.Outcome == dedupe.OutcomeSkipped {
		f["reason"] = string(r.Result.Reason)
		f["error"] = errString(r.Result.Err)
	}
	if r.Group > 0 {
		f["group"] = r.Group
		if r.Source != "" {
			f["source"] = fileJSON(r.Source, 0, 0)
		}
	}
	j.emit("file", f)
}

// FilesSummary implements Printer.
func (j *JSON) FilesSummary(s FilesSummary) {
	m := map[string]any{"destinations": s.Destinations, "not_shared": s.NotDone, "bytes_shared": s.BytesShared}
	if s.Fdupes {
		m["groups"] = s.Groups
	} else {
		m["source"] = fileJSON(s.Source, 0, 0)
	}
	j.emit("summary", m)
}

// Generation implements Printer.
func (j *JSON) Generation(g GenerationResult) {
	j.document(map[string]any{"volume": fileJSON(g.Volume, 0, 0), "generation": g.Generation})
}

// TrackedFile implements Printer.
func (j *JSON) TrackedFile(f run.TrackedFile) {
	m := fileJSON(f.Path, f.SubvolID, f.Ino)
	m["filesystem"] = f.FS.UUID
	m["size"] = f.Size
	j.element(m)
}

// FindNewRecord implements Printer.
func (j *JSON) FindNewRecord(r FindNewRecord) {
	m := map[string]any{"item_type": r.Type, "objectid": r.ObjectID, "len": r.Len, "leaf_transid": r.LeafTransid}
	if r.Decoded {
		switch r.Type {
		case 12:
			m["name"] = fileJSON(r.Name, 0, 0)
		case 84, 96:
			m["name"] = fileJSON(r.Name, 0, 0)
			m["transid"] = r.Gen1
			m["entry_type"] = r.DirType
		case 1:
			m["creation_generation"] = r.Gen1
		case 108:
			m["extent_generation"] = r.Gen1
		}
	}
	j.element(m)
}

// FindNewPath implements Printer.
func (j *JSON) FindNewPath(p string) { j.element(fileJSON(p, 0, 0)) }

// Show implements Printer.
func (j *JSON) Show(rep run.ShowReport) {
	fss := make([]any, 0, len(rep.Filesystems))
	for _, f := range rep.Filesystems {
		vols := make([]any, 0, len(f.Volumes))
		for _, v := range f.Volumes {
			vm := map[string]any{"id": v.ID, "read_only": v.ReadOnly, "deleted": v.Deleted,
				"tracked": v.Tracked, "not_deduplicated": v.Flagged, "generation": v.Generation, "size_cutoff": v.SizeCutoff}
			for k, p := range map[string]string{"accessible_at": v.Accessible, "internal_path": v.Internal, "last_seen_at": v.LastSeen} {
				if p != "" {
					vm[k] = fileJSON(p, 0, 0)
				}
			}
			vols = append(vols, vm)
		}
		devices := f.Devices
		if devices == nil {
			devices = []string{}
		}
		fss = append(fss, map[string]any{"uuid": f.UUID, "label": f.Label, "devices": devices, "available": f.Available,
			"volumes": vols, "deleted_volumes_hidden": f.DeletedHidden, "known": f.Known, "tracked": f.Tracked,
			"dedup_events": f.Totals.Events, "files_deduplicated": f.Totals.Files,
			"bytes_deduplicated": f.Totals.BytesDeduplicated, "bytes_freed": f.Totals.BytesFreed})
	}
	j.document(map[string]any{"filesystems": fss})
}

// History implements Printer.
func (j *JSON) History(h run.History) {
	events := make([]any, 0, len(h.Events))
	for _, e := range h.Events {
		files := make([]any, 0, len(e.Files))
		for i, f := range e.Files {
			m := fileJSON(f.Path, f.SubvolID, f.Ino)
			m["gone"] = f.Gone
			m["source"] = i == 0
			files = append(files, m)
		}
		events = append(events, map[string]any{"id": e.ID, "time": e.Time.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"),
			"filesystem": fsJSON(e.FS), "size": e.Size, "bytes_shared": e.BytesShared, "bytes_freed": e.BytesFreed, "files": files})
	}
	j.document(map[string]any{"events": events,
		"total": map[string]any{"events": len(h.Events), "files": h.Files, "bytes_shared": h.BytesShared, "bytes_freed": h.BytesFreed}})
}

// Error implements Printer: an "error" event (the text line still goes to
// standard error).
func (j *JSON) Error(err error) {
	if !j.o.Stream {
		return
	}
	j.emit("error", map[string]any{"message": err.Error()})
}

// Close implements Printer: it closes a streamed document (an empty one is
// written whole) and flushes.
func (j *JSON) Close() error {
	if j.o.List != "" {
		if !j.listOpen {
			j.openList()
		}
		j.write([]byte("\n]"))
		if len(j.notices) > 0 {
			b, err := json.Marshal(j.notices)
			if err != nil && j.err == nil {
				j.err = err
			}
			j.write(append([]byte(`,"notices":`), b...))
		}
		j.write([]byte("}\n"))
	}
	if err := j.w.Flush(); err != nil && j.err == nil {
		j.err = err
	}
	return j.err
}
