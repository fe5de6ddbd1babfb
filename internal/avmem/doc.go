// Package avmem owns Tally's libav memory: the Closer that frees go-astiav
// objects, registered as they are allocated, and the one place that reads
// go-astiav objects as the C structs behind them: a Frame as its *C.AVFrame,
// to reach its planes (frame.go), and a SoftwareScaleContext as its
// *C.SwsContext, to set the BT.709 matrix and to scale straight between
// pictures in Go memory (sws.go).
//
// capture/, encode/ and compose/ use it; cgo lives here and in capture/ and
// encode/ only.
package avmem
