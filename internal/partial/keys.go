package partial

import (
	"encoding/binary"

	"github.com/zeebo/xxh3"
)

// The index's grain: 4 KiB blocks (the sector size checksums cover), keyed
// in chunks of 32 blocks aligned to file offset 0.
const (
	BlockSize   = 4096
	ChunkBlocks = 32
	ChunkSize   = BlockSize * ChunkBlocks
)

// noSig is the signature of a block that holds nothing to share (a hole,
// preallocated space) or whose checksum is unknown. Real signatures never
// have the top bit set.
const noSig = uint64(1) << 63

// sigOf turns a block checksum as the csum tree stores it (crc32c: 4 bytes;
// longer ones are cut to 8) into a block signature.
func sigOf(csum []byte) uint64 {
	var b [8]byte
	copy(b[:], csum)
	return binary.LittleEndian.Uint64(b[:]) &^ noSig
}

// chunkKey is the key of one chunk from its block signatures: 0 (no key)
// when any block has none.
func chunkKey(sigs []uint64) uint64 {
	var buf [ChunkBlocks * 8]byte
	if len(sigs) != ChunkBlocks {
		return 0
	}
	for i, s := range sigs {
		if s == noSig {
			return 0
		}
		binary.LittleEndian.PutUint64(buf[8*i:], s)
	}
	if k := xxh3.Hash(buf[:]); k != 0 {
		return k
	}
	return 1
}

// chunkKeys keys every full chunk of a file from the signatures of its
// blocks (a last partial chunk has no key).
func chunkKeys(sigs []uint64) []uint64 {
	keys := make([]uint64, len(sigs)/ChunkBlocks)
	for c := range keys {
		keys[c] = chunkKey(sigs[c*ChunkBlocks : (c+1)*ChunkBlocks])
	}
	return keys
}

// blocksOf is how many blocks a file of size bytes has (the last one may
// be partial).
func blocksOf(size uint64) uint64 { return (size + BlockSize - 1) / BlockSize }
