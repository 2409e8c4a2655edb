// Package partial deduplicates parts of files: large files that no
// identical twin covers (a VM image and its clone with a few blocks
// changed, a database and its backup, a log and its older, shorter copy)
// share their common runs of 4 KiB blocks, and the bookends that sharing
// would leave allocated are rewritten so that the destination's old extents
// end up unreferenced and freed.
//
// It works from an incremental block index kept in the store: each large
// file is cut into 128 KiB chunks aligned to file offset 0, and a chunk's
// key hashes its 32 block checksums, which the csum tree gives without
// reading data (files without usable checksums, NOCOW or compressed, are
// read and hashed with the same checksum). Equal keys in two files are
// candidate runs; they are widened block by block, planned per destination
// extent (share, rewrite the remainder, or leave it), and carried out with
// FIDEDUPERANGE only, so the kernel compares every byte before it shares
// and a concurrent writer always wins. docs/design-notes.md ("Partial-file
// deduplication") has the design and its rules.
package partial
