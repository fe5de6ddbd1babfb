// Package interop holds tests only: Tally publishing to RTMP peers written
// elsewhere, in Go, driven in-process. Today that is gortmplib's server side
// (github.com/bluenviron/gortmplib, the RTMP library behind MediaMTX)
// reading Tally's Enhanced RTMP v2 streams: several H.264 tracks on one
// connection, HEVC and AV1.
//
// It is a module of its own, as bench/ is, so that the peers it tests
// against (and what they pull in) stay out of Tally's own go.mod: Tally
// builds without them, and only `make test` (through `make vet` for
// formatting and vet) reaches them. It uses the working tree's Tally
// through `replace github.com/tallystudio/tally => ../`.
package interop
