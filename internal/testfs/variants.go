package testfs

import "slices"

// WithBlocksChanged returns a copy of data in which the 4 KiB blocks
// numbered in blocks hold other bytes (derived from seed): a clone of a VM
// image or a database file with a few pages written.
func WithBlocksChanged(data []byte, seed uint64, blocks ...int) []byte {
	out := slices.Clone(data)
	for i, b := range blocks {
		copy(out[b*4096:min((b+1)*4096, len(out))], Bytes(seed+uint64(i), 4096))
	}
	return out
}

// ScatteredBlocks returns n block numbers spread evenly over a file of
// size bytes, none of them the first or the last block.
func ScatteredBlocks(size, n int) []int {
	blocks := size / 4096
	out := make([]int, n)
	for i := range out {
		out[i] = 1 + (blocks-2)*(2*i+1)/(2*n)
	}
	return out
}
