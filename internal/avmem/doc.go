// Package avmem owns Tally's libav memory: the Closer that frees go-astiav
// objects, registered as they are allocated, and the one place that reads
// go-astiav objects as the C structs behind them: a Frame as its *C.AVFrame,
// to reach its planes (frame.go) and an audio frame's samples in place
// (filter.go); a SoftwareScaleContext as its *C.SwsContext, to set the
// BT.709 matrix and to scale straight between pictures in Go memory
// (sws.go); a SoftwareResampleContext as its *C.SwrContext, to configure it,
// resample straight between Go slices and stretch time with
// swr_set_compensation (swr.go); a buffersink's FilterContext as its
// *C.AVFilterContext, to take frames out without go-astiav's allocation per
// empty read (filter.go).
//
// capture/, encode/, compose/ and mix/ use it; cgo lives here and in
// capture/ and encode/ only.
package avmem
