// Package avmem owns Tally's libav memory: the Closer that frees go-astiav
// objects, registered as they are allocated, and the one place that reads a
// go-astiav Frame as the *C.AVFrame behind it to reach its planes.
//
// capture/ and encode/ both use it; cgo lives here and in those two packages
// only.
package avmem
