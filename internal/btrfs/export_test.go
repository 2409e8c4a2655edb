package btrfs

import "os"

// DedupeChunked exposes the chunk size so tests can cross chunk boundaries
// without gigabyte files.
func DedupeChunked(src *os.File, srcOffset, length uint64, dests []DedupeDest, chunk uint64) []DedupeResult {
	return dedupe(src, srcOffset, length, dests, chunk)
}
