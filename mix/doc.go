// Package mix is the audio mixer: it mixes any number of sources (strips)
// into the program sound, 10 ms at a time.
//
// A strip's sound goes through two sides that meet in its queue:
//
//   - Push, on the source's goroutine: the captured int16 samples are
//     resampled once to 48 kHz (libswresample, straight between Go slices
//     through internal/avmem; a mono source is then copied to both channels,
//     more than two channels are downmixed), run through the strip's filters
//     (one libavfilter graph: agate, acompressor, alimiter, afftdn, rebuilt
//     only when the filters change), delayed by the strip's sync delay, and
//     queued: a ring of at most 500 ms that drops its oldest blocks, counted,
//     rather than grow.
//   - Mix, on the program clock's goroutine: each strip's next block is read
//     from its queue and added with its gain, mute, mono and SetActive ramps;
//     then the master gain and the master bus's true-peak limiter
//     (limiter.go) run, and the block is converted to int16.
//
// Clocks: Mix is called every 10 ms of program time, and each call reads
// exactly one block from each strip. A device's clock drifts against the
// program's; rather than drop or repeat blocks, the strip's resampler
// stretches time (swr_set_compensation) under a slow control loop that keeps
// its queue near TargetQueueMS (drift.go). A strip is silent until its queue
// first fills to the target; after that a block it cannot fill is an
// underrun (silence, counted) and it waits to refill.
//
// Nothing allocates per block once running: the libav frames and Go buffers
// are reused, and the avmem helpers reach libav without go-astiav's
// allocating paths. Every libav object is owned by an avmem.Closer: a strip
// owns its resampler and its filter graph (which has a Closer of its own,
// as it is replaced when the filters change), the Mixer its limiter's
// upsampler; Close frees them all.
//
// Mix, AddStrip, RemoveStrip, SetActive, SetMaster and Close take the
// Mixer's lock; Push and SetConfig take the strip's own, so a slow source
// never holds up Mix beyond a copy into the queue.
package mix
