// Package btrfs is bedup's whole interface to the kernel: every ioctl and
// every other raw system call the program makes lives here, behind typed
// wrappers that return errors with context. Classify says what those errors
// mean (the file is gone, the filesystem is read-only, ...), so that no other
// package needs to know the errnos.
//
// Two kinds of code live in this package. Wrappers (TreeSearch, InoLookup,
// Dedupe, Fiemap, ...) talk to the kernel and are tested on a real,
// loop-mounted Btrfs. Decoders (DecodeInodeItem, DecodeRootItem, ...) turn the
// bytes the kernel hands back into Go values; they are pure functions that
// check every length and return an error instead of panicking, and they are
// fuzzed.
//
// Layouts and ioctl numbers are those of the kernel's UAPI headers
// (linux/btrfs.h, linux/btrfs_tree.h, linux/fs.h, linux/fiemap.h) on a
// little-endian 64-bit machine; sizes_test.go pins every argument struct.
package btrfs
